{{%AUTOESCAPE context="HTML"}}<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>A security incident at {{VENDOR}} involved some of your data</title></head>
<body style="font-family: sans-serif; max-width: 40em; line-height: 1.5; color: #222;">
<p>{{#HAS_NAME}}Dear {{NAME}},{{/HAS_NAME}}{{#NO_NAME}}Hello,{{/NO_NAME}}</p>
<p>We are writing to tell you about a security incident at {{VENDOR}}, an analytics provider that {{ORG_NAME}}
uses, and about what it means for you. Our own systems were not affected.</p>
<h2>What happened</h2>
<p>{{VENDOR}} told us that an unauthorized party gained access to its systems between {{WINDOW_FROM}} and
{{WINDOW_TO}}. {{VENDOR}} held some data about how you used our product, which our systems had sent to it
{{#SAME_DAY}}on {{FIRST_DISCLOSURE}}{{/SAME_DAY}}{{#DATE_RANGE}}between {{FIRST_DISCLOSURE}} and {{LAST_DISCLOSURE}}{{/DATE_RANGE}}.</p>
<h2>Which of your data was involved</h2>
<p>Our records show exactly what was sent to {{VENDOR}} about you. It was:</p>
<ul>
{{#CATEGORY}}<li>{{DESCRIPTION}}</li>
{{/CATEGORY}}</ul>
{{#PSEUDONYMIZED}}<p>The identifier was a pseudonym: a code made for {{VENDOR}} alone. {{VENDOR}} never received
your account ID from us.</p>{{/PSEUDONYMIZED}}
<p>Nothing else about you was sent to {{VENDOR}}.{{#EXPOSED_SECRET}} Because credentials were among this data,
please change the affected passwords and revoke and replace any API keys or access tokens you have used with
our product.{{/EXPOSED_SECRET}}{{#EXPOSED_FINANCIAL}} Please watch your bank and card statements and tell your
bank about anything you do not recognize.{{/EXPOSED_FINANCIAL}}</p>
<h2>What we have done</h2>
<p>{{#HAS_MEASURES}}{{MEASURES}} {{/HAS_MEASURES}}We are working with {{VENDOR}} to understand the incident, and
we have informed the authorities where the law requires it.</p>
<h2>What you can do</h2>
<ul>
<li>Be wary of unexpected emails, calls or messages that mention this incident or claim to come from us or from
{{VENDOR}}. Criminals may use stolen data to make such messages look convincing.</li>
<li>We will never ask you for your password, security keys or verification codes, by email, phone or any other
way. Do not give them to anyone who asks.</li>
<li>Turn on multi-factor authentication (MFA) for your account, and use a different password for each
service.</li>
<li>Do not open attachments or follow links in messages about this incident. Type our address into your
browser yourself instead.</li>
</ul>
<h2>How to check that this notice is genuine</h2>
<p>This notice has the number <strong>{{NOTICE_ID}}</strong>. You can check it, and read it again, at
<a href="{{VERIFY_URL}}">{{VERIFY_URL}}</a>. This message asks nothing of you and links only to
{{ORG_DOMAIN}}. The plain-text version of this message carries a signature that our support team can check.</p>
<h2>Questions</h2>
<p>Write to <a href="mailto:{{ORG_CONTACT}}">{{ORG_CONTACT}}</a> and mention the notice number {{NOTICE_ID}}.</p>
<p>We are sorry for the concern this may cause.</p>
<p>{{ORG_NAME}}</p>
</body>
</html>
