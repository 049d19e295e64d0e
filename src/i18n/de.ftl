# Die Seite hinter einem Link zum Zurücksetzen des Passworts, auf Deutsch.

## Datum und Uhrzeit (UTC)
month-name = { $month ->
    [1] Januar
    [2] Februar
    [3] März
    [4] April
    [5] Mai
    [6] Juni
    [7] Juli
    [8] August
    [9] September
    [10] Oktober
    [11] November
   *[12] Dezember
}
date-time-utc = { $day }. { month-name } { $year }, { $hour }:{ $minute } Uhr UTC

## Das Formular
form-title = Neues Passwort festlegen
form-for = Für { $account }. Dieser Link funktioniert einmal, bis { $expires }.
support-line = Fragen? Wenden Sie sich an { $support }.
form-password-label = Neues Passwort
form-password2-label = Neues Passwort wiederholen
form-submit = Passwort speichern
lang-switch-label = Sprache

## Fehler im Formular
error-form-unreadable = Das Formular konnte nicht gelesen werden: { $why ->
    [too-large] Es ist zu groß
    [field-twice] Ein Feld wurde doppelt gesendet
    [bad-percent] Es ist nicht korrekt kodiert
   *[not-utf8] Es ist nicht in UTF-8 kodiert
}. Bitte geben Sie das neue Passwort noch einmal ein.
error-csrf = Dieses Formular ist veraltet. Bitte geben Sie das neue Passwort noch einmal ein.
error-empty = Bitte geben Sie ein neues Passwort ein.
error-mismatch = Die beiden Passwörter stimmen nicht überein.

## Ein Fehler auf dem Server (500)
internal-error-title = Etwas ist schiefgelaufen
internal-error-body = Der Server konnte diese Anfrage nicht abschließen; geändert wurde nichts. Bitte versuchen Sie es in ein paar Minuten noch einmal. Wenn der Fehler weiterhin auftritt, wenden Sie sich an den Betreiber der Website.

## Der Link funktioniert nicht mehr (410)
gone-title = Dieser Link funktioniert nicht mehr
gone-what = Er ist abgelaufen, wurde schon benutzt oder durch einen neueren Link ersetzt. Ein Link zum Zurücksetzen funktioniert nur einmal und nur für begrenzte Zeit.
gone-next = Einen neuen Link bekommen Sie dort, wo Sie ihn zuvor angefordert haben: in Ihrem Weblog-Programm („Passwort zusenden“) oder bei Ihrem Domain-Anbieter.

## Zu viele ungültige Links von einer Adresse (429)
too-many-title = Zu viele Versuche
too-many-body = Von Ihrer Adresse aus wurden zu viele ungültige Links geöffnet. Bitte warten Sie { $minutes ->
    [one] eine Minute
   *[other] { $minutes } Minuten
} und versuchen Sie es dann erneut.

## Der Server ist ausgelastet oder seine Datenbank nicht erreichbar (503)
busy-title = Ausgelastet
busy-heading = Der Server ist gerade ausgelastet
busy-body = Es wurde nichts geändert. Bitte senden Sie das Formular gleich noch einmal ab.
unavailable-title = Nicht verfügbar
unavailable-heading = Passwörter können gerade nicht geändert werden
unavailable-body = Die Datenbank des Servers ist nicht erreichbar, daher wurde nichts geändert. Bitte versuchen Sie es später noch einmal.

## „Das war ich nicht“
not-me-title = Das war ich nicht
not-me-heading = { $account } sperren?
not-me-body = Wenn Sie das Passwort von { $account } nicht geändert haben, sperren Sie das Konto jetzt: Mit dem neuen Passwort kann sich niemand mehr anmelden, alle Sitzungen werden beendet, und an die Adresse des Kontos geht ein neuer Link, mit dem Sie selbst ein Passwort wählen.
not-me-submit = Konto sperren und neuen Link senden
locked-title = Konto gesperrt
locked-body = { $account } ist gesperrt: Mit dem zuletzt gesetzten Passwort kann sich niemand anmelden. An die Adresse des Kontos wurde ein Link geschickt, mit dem Sie ein eigenes Passwort wählen.

## Fertig
done-title = Passwort geändert
done-body = Das Passwort von { $account } wurde geändert.

## Die Regeln unter dem ersten Feld, und was nach dem Ändern zu tun ist
policy-weblog = 8 bis 128 Zeichen: Buchstaben, Ziffern, Leerzeichen und Satzzeichen (druckbares ASCII, also ohne Umlaute). Eine Passphrase aus mehreren Alltagswörtern ist willkommen; gängige oder leicht zu erratende Passwörter werden abgelehnt.
policy-domain = { $min } bis { $max } Zeichen: A–Z, a–z, 0–9 und { $symbols }. Gängige oder leicht zu erratende Passwörter werden abgelehnt.
done-next-weblog = Geben Sie das neue Passwort in Ihrem Weblog-Programm ein, wenn es das nächste Mal danach fragt (bei Radio UserLand: das Passwort des Community-Servers in den Einstellungen).
done-next-domain = Melden Sie sich mit dem neuen Passwort in Ihrer Domain-Verwaltung an. Frühere Sitzungen wurden abgemeldet.

## Warum ein neues Passwort abgelehnt wurde
rule-weblog-length = Das Passwort muss 8 bis 128 Zeichen lang sein (es hat { $has }).
rule-weblog-characters = Das Passwort darf nur druckbare ASCII-Zeichen enthalten: Buchstaben ohne Umlaute und Akzente, Ziffern, Leerzeichen und Satzzeichen.
rule-domain-length = Das Passwort muss { $min } bis { $max } Zeichen lang sein.
rule-domain-character = Das Passwort darf „{ $bad }“ nicht enthalten. Erlaubt sind A–Z, a–z, 0–9 und { $allowed }
rule-blocklisted = Dieses Passwort steht auf der Liste geleakter oder gesperrter Passwörter. Bitte wählen Sie ein anderes.
rule-too-easy = Dieses Passwort ist zu leicht zu erraten (Stärke { $score } von 4; nötig ist mindestens { $min }).
sentences = { $first } { $second }

## Die Hinweise von zxcvbn zu einem zu leicht zu erratenden Passwort
zxcvbn-warning-straight-rows = Tastenreihen sind leicht zu erraten.
zxcvbn-warning-short-keyboard-patterns = Kurze Tastaturmuster sind leicht zu erraten.
zxcvbn-warning-repeats-aaa = Wiederholungen wie „aaa“ sind leicht zu erraten.
zxcvbn-warning-repeats-abcabc = Wiederholungen wie „abcabcabc“ sind kaum schwerer zu erraten als „abc“.
zxcvbn-warning-top10 = Dies ist eines der zehn häufigsten Passwörter.
zxcvbn-warning-top100 = Dies ist eines der hundert häufigsten Passwörter.
zxcvbn-warning-common = Dies ist ein sehr häufiges Passwort.
zxcvbn-warning-similar-to-common = Dies ähnelt einem häufig benutzten Passwort.
zxcvbn-warning-sequences = Folgen wie abc oder 6543 sind leicht zu erraten.
zxcvbn-warning-recent-years = Jahreszahlen der letzten Jahre sind leicht zu erraten.
zxcvbn-warning-word-by-itself = Ein einzelnes Wort ist leicht zu erraten.
zxcvbn-warning-dates = Daten sind oft leicht zu erraten.
zxcvbn-warning-names-by-themselves = Vor- und Nachnamen allein sind leicht zu erraten.
zxcvbn-warning-common-names = Häufige Vor- und Nachnamen sind leicht zu erraten.
zxcvbn-suggestion-few-words = Nehmen Sie mehrere Wörter, aber keine gängigen Redewendungen.
zxcvbn-suggestion-no-need-for-symbols = Sonderzeichen, Ziffern oder Großbuchstaben sind nicht nötig.
zxcvbn-suggestion-add-a-word = Fügen Sie ein oder zwei Wörter hinzu. Seltene Wörter sind besser.
zxcvbn-suggestion-capitalization = Großschreibung hilft kaum.
zxcvbn-suggestion-all-uppercase = Nur Großbuchstaben sind fast so leicht zu erraten wie nur Kleinbuchstaben.
zxcvbn-suggestion-reversed-words = Rückwärts geschriebene Wörter sind kaum schwerer zu erraten.
zxcvbn-suggestion-substitutions = Vorhersehbare Ersetzungen wie „@“ statt „a“ helfen kaum.
zxcvbn-suggestion-longer-keyboard-pattern = Nehmen Sie ein längeres Tastaturmuster mit mehr Richtungswechseln.
zxcvbn-suggestion-avoid-repeats = Vermeiden Sie wiederholte Wörter und Zeichen.
zxcvbn-suggestion-avoid-sequences = Vermeiden Sie Folgen.
zxcvbn-suggestion-avoid-recent-years = Vermeiden Sie Jahreszahlen der letzten Jahre.
zxcvbn-suggestion-avoid-your-years = Vermeiden Sie Jahreszahlen, die mit Ihnen zu tun haben.
zxcvbn-suggestion-avoid-your-dates = Vermeiden Sie Daten und Jahreszahlen, die mit Ihnen zu tun haben.

## E-Mails. $site ist der Name der Website, wie ihre Nutzer sie kennen (der Name einer Community
## oder die Marke eines Domain-Anbieters), $url ihre Adresse; $account das Konto, wie sein Inhaber es kennt.
mail-signature = { $site }: { $url }

# Der Link zum Zurücksetzen
mail-reset-subject = Passwort zurücksetzen: { $account }
mail-reset-intro = Jemand hat angefordert, das Passwort von { $account } bei { $site } zurückzusetzen.
mail-reset-open = Um ein neues Passwort festzulegen, öffnen Sie diesen Link bis { $expires }:
mail-reset-once-from = Der Link funktioniert nur einmal. Die Anfrage kam von der IP-Adresse { $ip }.
mail-reset-once-operator = Der Link funktioniert nur einmal. Der Betreiber der Website hat ihn Ihnen geschickt.
mail-reset-ignore = Wenn Sie das nicht waren, ignorieren Sie diese E-Mail einfach: Solange der Link nicht benutzt wird, ändert sich nichts.

# Die Benachrichtigung nach einer Passwortänderung
mail-changed-subject = Ihr Passwort wurde geändert: { $account }
mail-changed-what = Das Passwort von { $account } bei { $site } wurde am { $changed } { $method ->
    [reset-link] über einen Link zum Zurücksetzen
    [xcp-change] im Kundenbereich Ihres Domain-Anbieters
   *[xcp-subuser] vom Inhaber der Domain im Kundenbereich Ihres Domain-Anbieters
} geändert. Die Änderung wurde von der IP-Adresse { $ip } aus vorgenommen.
mail-changed-what-operator = Das Passwort von { $account } bei { $site } wurde am { $changed } vom Betreiber der Website geändert.
mail-changed-if-you = Wenn Sie das waren, müssen Sie nichts weiter tun.
mail-changed-if-not = Wenn Sie das nicht waren, öffnen Sie diesen Link bis { $expires }: Er sperrt das Konto sofort (mit dem neuen Passwort kann sich dann niemand mehr anmelden) und schickt Ihnen einen neuen Link, mit dem Sie selbst ein Passwort wählen:
mail-changed-link-text = Das war ich nicht
# Wie ein Passwort geändert wurde, für die eigene Vorlage eines Betreibers ({method}).
mail-method = { $method ->
    [reset-link] Link zum Zurücksetzen
    [xcp-change] Kundenbereich des Domain-Anbieters
    [xcp-subuser] Inhaber der Domain, im Kundenbereich des Domain-Anbieters
   *[operator] Betreiber der Website
}

# Die erste E-Mail zu einem umgezogenen Weblog
mail-moved-subject = Ihr Weblog ist umgezogen: { $account }
mail-moved-where = Ihr Weblog { $account } ist zu { $site } ({ $url }) umgezogen. Seine Seiten und Dateien liegen jetzt dort, und die alten Adressen leiten dorthin weiter.
mail-moved-why = Der alte Server hat Passwörter so gespeichert, dass man sie wieder auslesen konnte, deshalb wurde Ihr Passwort nicht übernommen. Um ein neues festzulegen, öffnen Sie diesen Link bis { $expires }:
mail-moved-then = Der Link funktioniert nur einmal. Geben Sie danach das neue Passwort in Ihrem Weblog-Programm ein (Radio UserLand und andere fragen beim nächsten Hochladen wieder danach).

## Konten, wie ihre Inhaber sie kennen
# Das zweite Login einer Domain (ein OpenSRS-Sub-User), z. B. „bob (example.com)“.
account-subuser = { $username } ({ $domain })
