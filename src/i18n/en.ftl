# passlink's reset page in English: the catalogue every other language is checked against.
# $account is the account as its owner knows it; markup is added by the code, never here.

## Dates: the parts come in UTC; hour and minute are two digits.
month-name = { $month ->
    [1] January
    [2] February
    [3] March
    [4] April
    [5] May
    [6] June
    [7] July
    [8] August
    [9] September
    [10] October
    [11] November
   *[12] December
}
date-time-utc = { $day } { month-name } { $year }, { $hour }:{ $minute } UTC

## The form
form-title = Set a new password
form-for = For { $account }. This link works once, until { $expires }.
form-password-label = New password
form-password2-label = New password, again
form-submit = Set password
lang-switch-label = Language

## Errors on the form
error-form-unreadable = The form could not be read: { $why }.
error-csrf = This form is out of date. Enter the new password again.
error-empty = Enter a new password.
error-mismatch = The two passwords do not match.

## A link that no longer works (410)
gone-title = This link no longer works
gone-what = It has expired, it was already used, or a newer link replaced it. A reset link works once, for a limited time.
gone-next = To get a new one, ask for your password again where you asked before: in your weblog client ("mail my password") or at your domain provider.

## Too many invalid links from one address (429)
too-many-title = Too many attempts
too-many-body = Too many invalid links were opened from your address. Wait { $minutes ->
    [one] a minute
   *[other] { $minutes } minutes
} and try again.

## The server is busy, or its database is unavailable (503)
busy-title = Busy
busy-heading = The server is busy
busy-body = Nothing was changed. Please submit the form again in a moment.
unavailable-title = Unavailable
unavailable-heading = Passwords cannot be changed right now
unavailable-body = The server's database is unavailable, so nothing was changed. Please try again later.

## "This wasn't me"
not-me-title = This wasn't me
not-me-heading = Lock { $account }?
not-me-body = If you did not change the password of { $account }, lock it now: nobody can log in with the new password, its sessions end, and a fresh link to choose your own password is mailed to the account's address.
not-me-submit = Lock the account and mail me a new link
locked-title = Account locked
locked-body = { $account } is locked: nobody can log in with the password that was set. A link to choose your own password has been mailed to the account's address.

## Done
done-title = Password changed
done-body = The password of { $account } has been changed.

## The rules under the first field, and what to do once the password is set
policy-weblog = 8 to 128 characters: letters, digits, spaces and punctuation (printable ASCII). A passphrase of several everyday words is welcome; common or easily guessed passwords are refused.
policy-domain = { $min } to { $max } characters: { $chars }. Common or easily guessed passwords are refused.
done-next-weblog = Enter the new password in your weblog client (for Radio UserLand: the community server password in Preferences) the next time it asks.
done-next-domain = Log in to your domain management with the new password. Earlier sessions have been signed out.
