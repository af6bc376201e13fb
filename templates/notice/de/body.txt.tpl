{{#HAS_NAME}}Guten Tag {{NAME}},{{/HAS_NAME}}{{#NO_NAME}}Guten Tag,{{/NO_NAME}}

wir möchten Sie über einen Sicherheitsvorfall bei {{VENDOR}} informieren, einem
Analysedienst, den {{ORG_NAME}} nutzt, und darüber, was er für Sie bedeutet.
Unsere eigenen Systeme waren nicht betroffen.

WAS IST PASSIERT?

{{VENDOR}} hat uns mitgeteilt, dass Unbefugte zwischen dem {{WINDOW_FROM}}
und dem {{WINDOW_TO}} Zugriff auf die Systeme von {{VENDOR}} hatten. Dort
lagen Daten darüber, wie Sie unser Produkt genutzt haben. Unsere Systeme
hatten sie {{#SAME_DAY}}am {{FIRST_DISCLOSURE}}{{/SAME_DAY}}{{#DATE_RANGE}}zwischen dem {{FIRST_DISCLOSURE}} und dem {{LAST_DISCLOSURE}}{{/DATE_RANGE}} an {{VENDOR}} übermittelt.

WELCHE IHRER DATEN BETROFFEN SIND

Aus unseren Aufzeichnungen geht genau hervor, welche Daten über Sie an
{{VENDOR}} übermittelt wurden. Übermittelt wurden:

{{#CATEGORY}}  - {{DESCRIPTION}}
{{/CATEGORY}}{{#PSEUDONYMIZED}}
Die Kennung war ein Pseudonym: ein Code, der nur für {{VENDOR}} erzeugt wurde.
{{VENDOR}} hat Ihre Konto-ID nie von uns erhalten.
{{/PSEUDONYMIZED}}
Darüber hinaus wurde nichts über Sie an {{VENDOR}} übermittelt.{{#EXPOSED_SECRET}} Da Zugangsdaten
darunter waren, ändern Sie bitte die betroffenen Passwörter und widerrufen und
ersetzen Sie alle API-Schlüssel und Zugriffstoken, die Sie mit unserem Produkt
verwendet haben.{{/EXPOSED_SECRET}}{{#EXPOSED_FINANCIAL}}
Bitte prüfen Sie Ihre Konto- und Kartenauszüge und melden Sie Ihrer Bank alles,
was Sie nicht zuordnen können.{{/EXPOSED_FINANCIAL}}

WAS WIR UNTERNOMMEN HABEN

{{#HAS_MEASURES}}{{MEASURES}}
{{/HAS_MEASURES}}Wir arbeiten mit {{VENDOR}} daran, den Vorfall aufzuklären, und haben die
zuständigen Behörden informiert, soweit das Gesetz es verlangt.

WAS SIE TUN KÖNNEN

  - Seien Sie vorsichtig bei unerwarteten E-Mails, Anrufen oder Nachrichten,
    die diesen Vorfall erwähnen oder angeblich von uns oder von {{VENDOR}}
    stammen. Kriminelle können gestohlene Daten nutzen, um solche Nachrichten
    glaubwürdig wirken zu lassen.
  - Wir werden Sie niemals nach Ihrem Passwort, Ihren Sicherheitsschlüsseln
    oder Bestätigungscodes fragen, weder per E-Mail noch am Telefon noch auf
    anderem Weg. Geben Sie sie niemandem, der danach fragt.
  - Schalten Sie die Mehr-Faktor-Authentifizierung (MFA) für Ihr Konto ein und
    verwenden Sie für jeden Dienst ein eigenes Passwort.
  - Öffnen Sie keine Anhänge und folgen Sie keinen Links in Nachrichten zu
    diesem Vorfall. Geben Sie unsere Adresse stattdessen selbst in Ihren
    Browser ein.

WIE SIE PRÜFEN KÖNNEN, OB DIESE NACHRICHT ECHT IST

Diese Benachrichtigung hat die Nummer {{NOTICE_ID}}. Unter dieser Adresse
können Sie sie prüfen und erneut lesen:

  {{VERIFY_URL}}

Diese Nachricht verlangt nichts von Ihnen und verweist nur auf {{ORG_DOMAIN}}.
Sie ist signiert (siehe den Block unten), damit unser Support-Team bestätigen
kann, dass sie echt ist.

FRAGEN

Schreiben Sie an {{ORG_CONTACT}} und nennen Sie die Nummer {{NOTICE_ID}}.

Wir bedauern sehr, dass dieser Vorfall Ihnen Sorgen bereiten kann.

Mit freundlichen Grüßen
{{ORG_NAME}}
