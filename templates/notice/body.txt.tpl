{{#HAS_NAME}}Dear {{NAME}},{{/HAS_NAME}}{{#NO_NAME}}Hello,{{/NO_NAME}}

We are writing to tell you about a security incident at {{VENDOR}}, an analytics
provider that {{ORG_NAME}} uses, and about what it means for you. Our own systems
were not affected.

WHAT HAPPENED

{{VENDOR}} told us that an unauthorized party gained access to its systems between
{{WINDOW_FROM}} and {{WINDOW_TO}}. {{VENDOR}} held some data about how you used our
product, which our systems had sent to it {{#SAME_DAY}}on {{FIRST_DISCLOSURE}}{{/SAME_DAY}}{{#DATE_RANGE}}between {{FIRST_DISCLOSURE}} and {{LAST_DISCLOSURE}}{{/DATE_RANGE}}.

WHICH OF YOUR DATA WAS INVOLVED

Our records show exactly what was sent to {{VENDOR}} about you. It was:

{{#CATEGORY}}  - {{DESCRIPTION}}
{{/CATEGORY}}{{#PSEUDONYMIZED}}
The identifier was a pseudonym: a code made for {{VENDOR}} alone. {{VENDOR}} never
received your account ID from us.
{{/PSEUDONYMIZED}}
Nothing else about you was sent to {{VENDOR}}.{{#EXPOSED_SECRET}} Because credentials
were among this data, please change the affected passwords and revoke and replace
any API keys or access tokens you have used with our product.{{/EXPOSED_SECRET}}{{#EXPOSED_FINANCIAL}}
Please watch your bank and card statements and tell your bank about anything you
do not recognize.{{/EXPOSED_FINANCIAL}}

WHAT WE HAVE DONE

{{#HAS_MEASURES}}{{MEASURES}}
{{/HAS_MEASURES}}We are working with {{VENDOR}} to understand the incident, and we have informed
the authorities where the law requires it.

WHAT YOU CAN DO

  - Be wary of unexpected emails, calls or messages that mention this incident
    or claim to come from us or from {{VENDOR}}. Criminals may use stolen data to
    make such messages look convincing.
  - We will never ask you for your password, security keys or verification
    codes, by email, phone or any other way. Do not give them to anyone who asks.
  - Turn on multi-factor authentication (MFA) for your account, and use a
    different password for each service.
  - Do not open attachments or follow links in messages about this incident.
    Type our address into your browser yourself instead.

HOW TO CHECK THAT THIS NOTICE IS GENUINE

This notice has the number {{NOTICE_ID}}. You can check it, and read it again, at

  {{VERIFY_URL}}

This message asks nothing of you and links only to {{ORG_DOMAIN}}. It is signed
(see the block below) so that our support team can confirm it is genuine.

QUESTIONS

Write to {{ORG_CONTACT}} and mention the notice number {{NOTICE_ID}}.

We are sorry for the concern this may cause.

{{ORG_NAME}}
