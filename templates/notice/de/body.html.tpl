{{%AUTOESCAPE context="HTML"}}<!DOCTYPE html>
<html lang="de">
<head><meta charset="utf-8"><title>Ein Sicherheitsvorfall bei {{VENDOR}} betrifft einige Ihrer Daten</title></head>
<body style="font-family: sans-serif; max-width: 40em; line-height: 1.5; color: #222;">
<p>{{#HAS_NAME}}Guten Tag {{NAME}},{{/HAS_NAME}}{{#NO_NAME}}Guten Tag,{{/NO_NAME}}</p>
<p>wir möchten Sie über einen Sicherheitsvorfall bei {{VENDOR}} informieren, einem Analysedienst, den
{{ORG_NAME}} nutzt, und darüber, was er für Sie bedeutet. Unsere eigenen Systeme waren nicht betroffen.</p>
<h2>Was ist passiert?</h2>
<p>{{VENDOR}} hat uns mitgeteilt, dass Unbefugte zwischen dem {{WINDOW_FROM}} und dem {{WINDOW_TO}} Zugriff
auf die Systeme von {{VENDOR}} hatten. Dort lagen Daten darüber, wie Sie unser Produkt genutzt haben. Unsere
Systeme hatten sie {{#SAME_DAY}}am {{FIRST_DISCLOSURE}}{{/SAME_DAY}}{{#DATE_RANGE}}zwischen dem {{FIRST_DISCLOSURE}} und dem {{LAST_DISCLOSURE}}{{/DATE_RANGE}} an {{VENDOR}} übermittelt.</p>
<h2>Welche Ihrer Daten betroffen sind</h2>
<p>Aus unseren Aufzeichnungen geht genau hervor, welche Daten über Sie an {{VENDOR}} übermittelt wurden.
Übermittelt wurden:</p>
<ul>
{{#CATEGORY}}<li>{{DESCRIPTION}}</li>
{{/CATEGORY}}</ul>
{{#PSEUDONYMIZED}}<p>Die Kennung war ein Pseudonym: ein Code, der nur für {{VENDOR}} erzeugt wurde.
{{VENDOR}} hat Ihre Konto-ID nie von uns erhalten.</p>{{/PSEUDONYMIZED}}
<p>Darüber hinaus wurde nichts über Sie an {{VENDOR}} übermittelt.{{#EXPOSED_SECRET}} Da Zugangsdaten darunter
waren, ändern Sie bitte die betroffenen Passwörter und widerrufen und ersetzen Sie alle API-Schlüssel und
Zugriffstoken, die Sie mit unserem Produkt verwendet haben.{{/EXPOSED_SECRET}}{{#EXPOSED_FINANCIAL}} Bitte
prüfen Sie Ihre Konto- und Kartenauszüge und melden Sie Ihrer Bank alles, was Sie nicht zuordnen
können.{{/EXPOSED_FINANCIAL}}</p>
<h2>Was wir unternommen haben</h2>
<p>{{#HAS_MEASURES}}{{MEASURES}} {{/HAS_MEASURES}}Wir arbeiten mit {{VENDOR}} daran, den Vorfall aufzuklären,
und haben die zuständigen Behörden informiert, soweit das Gesetz es verlangt.</p>
<h2>Was Sie tun können</h2>
<ul>
<li>Seien Sie vorsichtig bei unerwarteten E-Mails, Anrufen oder Nachrichten, die diesen Vorfall erwähnen oder
angeblich von uns oder von {{VENDOR}} stammen. Kriminelle können gestohlene Daten nutzen, um solche Nachrichten
glaubwürdig wirken zu lassen.</li>
<li>Wir werden Sie niemals nach Ihrem Passwort, Ihren Sicherheitsschlüsseln oder Bestätigungscodes fragen,
weder per E-Mail noch am Telefon noch auf anderem Weg. Geben Sie sie niemandem, der danach fragt.</li>
<li>Schalten Sie die Mehr-Faktor-Authentifizierung (MFA) für Ihr Konto ein und verwenden Sie für jeden Dienst
ein eigenes Passwort.</li>
<li>Öffnen Sie keine Anhänge und folgen Sie keinen Links in Nachrichten zu diesem Vorfall. Geben Sie unsere
Adresse stattdessen selbst in Ihren Browser ein.</li>
</ul>
<h2>Wie Sie prüfen können, ob diese Nachricht echt ist</h2>
<p>Diese Benachrichtigung hat die Nummer <strong>{{NOTICE_ID}}</strong>. Unter
<a href="{{VERIFY_URL}}">{{VERIFY_URL}}</a> können Sie sie prüfen und erneut lesen. Diese Nachricht verlangt
nichts von Ihnen und verweist nur auf {{ORG_DOMAIN}}. Die Textfassung dieser Nachricht trägt eine Signatur,
die unser Support-Team prüfen kann.</p>
<h2>Fragen</h2>
<p>Schreiben Sie an <a href="mailto:{{ORG_CONTACT}}">{{ORG_CONTACT}}</a> und nennen Sie die Nummer
{{NOTICE_ID}}.</p>
<p>Wir bedauern sehr, dass dieser Vorfall Ihnen Sorgen bereiten kann.</p>
<p>Mit freundlichen Grüßen<br>{{ORG_NAME}}</p>
</body>
</html>
