"""Texts of the mails and of secure.htm, in English and German.

Plain format strings so that they are pure data: branding fills in ``{name}``,
``{organisation}``, ``{color}``; the callers fill in the rest. The portal has its
own catalogue; these are the texts that travel inside mail.
"""

CARRIER_NOTICE = """\
{sender} has sent you a confidential message through {name}.

Open the attached file secure.htm in your web browser and log in with
your mail address and password. If this is your first message, you receive
the password separately, normally from the sender.

Portal: {portal_url}

--
{sender} hat Ihnen eine vertrauliche Nachricht über {name} gesendet.

Öffnen Sie die angehängte Datei secure.htm in Ihrem Webbrowser und melden
Sie sich mit Ihrer E-Mail-Adresse und Ihrem Passwort an. Bei Ihrer ersten
Nachricht erhalten Sie das Passwort getrennt, in der Regel vom Absender.
"""

SECURE_HTM_HEAD = """\
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="us-ascii">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{name}: secure message / sichere Nachricht</title>
<style>
body{{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;background:#f4f6f8;color:#1a1a1a}}
main{{max-width:40rem;margin:2rem auto;background:#fff;padding:1.5rem;border-top:6px solid {color};border-radius:4px}}
h1{{font-size:1.4rem;color:{color}}}
button{{font-size:1.1rem;padding:.8rem 1.6rem;background:{color};color:#fff;border:0;border-radius:4px;cursor:pointer}}
button:focus{{outline:3px solid #f0a500;outline-offset:2px}}
textarea{{display:none}}
</style>
</head>
<body>
<main>
<h1>{name}</h1>
{own_intro}<p>This file holds an encrypted message from <strong>{sender}</strong>.
Press <em>Open message</em> to read it in the secure portal; you will be asked
for your mail address and password.</p>
<p lang="de">Diese Datei enth&auml;lt eine verschl&uuml;sselte Nachricht von <strong>{sender}</strong>.
Klicken Sie auf <em>Nachricht &ouml;ffnen</em>, um sie im sicheren Portal zu lesen;
Sie werden nach Ihrer E-Mail-Adresse und Ihrem Passwort gefragt.</p>
<form id="webcrypt-open" method="post" action="{action}" accept-charset="us-ascii">
<textarea name="envelope" readonly>
"""

SECURE_HTM_TAIL = """\
</textarea>
<p><button type="submit">Open message / Nachricht &ouml;ffnen</button></p>
</form>
<p><small>{portal_url}</small></p>
</main>
<script>document.getElementById("webcrypt-open").submit();</script>
</body>
</html>
"""

# The reader (mime.extract_envelope) finds the envelope by structure: the textarea element
# named "envelope" of the attachment secure.htm, never by searching for a string.

LOGIN_DATA_SUBJECT = "{name}: login data for {address} / Zugangsdaten"

LOGIN_DATA_BODY = """\
{intro_en}

  Portal:       {portal_url}
  Address:      {address}
  Password:     {password}

The recipient opens the attachment secure.htm of the encrypted message and
logs in with this address and password.{change_en}

--
{intro_de}

  Portal:       {portal_url}
  Adresse:      {address}
  Passwort:     {password}

Der Empfänger öffnet den Anhang secure.htm der verschlüsselten Nachricht und
meldet sich mit dieser Adresse und diesem Passwort an.{change_de}
"""

LOGIN_DATA_INTRO = {
    "relay": (
        "An encrypted message from you went to {address}, who has no {name} account yet.\n"
        "Please pass these login data to the recipient by another channel (phone, SMS, letter):",
        "Eine verschlüsselte Nachricht von Ihnen ging an {address}, der noch kein {name}-Konto hat.\n"
        "Bitte geben Sie diese Zugangsdaten auf anderem Weg weiter (Telefon, SMS, Brief):",
    ),
    "recipient": (
        "You have received an encrypted message through {name}. Your login data:",
        "Sie haben über {name} eine verschlüsselte Nachricht erhalten. Ihre Zugangsdaten:",
    ),
    "reset": (
        "The password of the {name} account {address} was reset. The new login data:",
        "Das Passwort des {name}-Kontos {address} wurde zurückgesetzt. Die neuen Zugangsdaten:",
    ),
}

LOGIN_DATA_CHANGE = (
    " A new password must be chosen at the first login.",
    " Bei der ersten Anmeldung muss ein neues Passwort gewählt werden.",
)

PASSWORD_NOTICE_SUBJECT = "{name}: your password was changed / Ihr Passwort wurde geändert"  # nosec B105 - a text

PASSWORD_NOTICE_BODY = (  # nosec B105 - a text, not a password
    """\
The password of your {name} account {address} was changed on {when}.

If you did this yourself, there is nothing more to do. If you did not,
please tell the sender of your messages or {organisation} at once: someone
else may know your password.

Portal: {portal_url}

--
Das Passwort Ihres {name}-Kontos {address} wurde am {when} geändert.

Wenn Sie das selbst waren, ist nichts weiter zu tun. Wenn nicht, melden
Sie sich bitte sofort beim Absender Ihrer Nachrichten oder bei {organisation}:
dann kennt womöglich jemand anderes Ihr Passwort.
"""
)

RECOVERY_LINK_SUBJECT = "{name}: your forgotten password / Ihr vergessenes Passwort"

RECOVERY_LINK_BODY = """\
Someone, probably you, asked for a new password for your {name} account
{address}. To get one, open this link within {minutes} minutes and answer
your confidential question:

{link}

The link works once. If you did not ask for it, you need not do anything:
without the answer to your question, nobody can change your password.

--
Jemand, wahrscheinlich Sie selbst, hat ein neues Passwort für Ihr
{name}-Konto {address} angefordert. Öffnen Sie dazu innerhalb von
{minutes} Minuten diesen Link und beantworten Sie Ihre vertrauliche Frage:

{link}

Der Link gilt einmal. Wenn Sie ihn nicht angefordert haben, ist nichts zu
tun: ohne die Antwort auf Ihre Frage kann niemand Ihr Passwort ändern.
"""

NOT_DELIVERED_SUBJECT = "{name}: not delivered to every recipient / nicht an alle Empfänger zugestellt"

NOT_DELIVERED_BODY = """\
Your message "{subject}" was delivered to its other recipients, but not to:

{addresses}

Their {name} accounts are disabled, so they take no new messages. Please ask
the administrator of {organisation} to enable them, or reach these people another way.

--
Ihre Nachricht "{subject}" wurde den übrigen Empfängern zugestellt, nicht aber:

{addresses}

Ihre {name}-Konten sind gesperrt und nehmen keine neuen Nachrichten an. Bitten Sie
den Administrator von {organisation}, sie freizugeben, oder erreichen Sie diese
Personen auf anderem Weg.
"""
