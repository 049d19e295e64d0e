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

## Why a new password was refused
rule-weblog-length = The password must be 8 to 128 characters long (it has { $has }).
rule-weblog-characters = The password may only contain printable ASCII characters: letters without accents, digits, spaces and punctuation.
rule-domain-length = The password must be { $min } to { $max } characters long.
rule-domain-character = The password may not contain “{ $bad }”. Allowed are A-Z, a-z, 0-9 and { $allowed }
rule-blocklisted = This password is on the list of breached or forbidden passwords. Choose another.
rule-too-easy = This password is too easy to guess (strength { $score } of 4; at least { $min } is needed).
# Two sentences of advice one after the other.
sentences = { $first } { $second }

## zxcvbn's advice on a password that is too easy to guess
zxcvbn-warning-straight-rows = Straight rows of keys are easy to guess.
zxcvbn-warning-short-keyboard-patterns = Short keyboard patterns are easy to guess.
zxcvbn-warning-repeats-aaa = Repeats like “aaa” are easy to guess.
zxcvbn-warning-repeats-abcabc = Repeats like “abcabcabc” are only slightly harder to guess than “abc”.
zxcvbn-warning-top10 = This is a top-10 common password.
zxcvbn-warning-top100 = This is a top-100 common password.
zxcvbn-warning-common = This is a very common password.
zxcvbn-warning-similar-to-common = This is similar to a commonly used password.
zxcvbn-warning-sequences = Sequences like abc or 6543 are easy to guess.
zxcvbn-warning-recent-years = Recent years are easy to guess.
zxcvbn-warning-word-by-itself = A word by itself is easy to guess.
zxcvbn-warning-dates = Dates are often easy to guess.
zxcvbn-warning-names-by-themselves = Names and surnames by themselves are easy to guess.
zxcvbn-warning-common-names = Common names and surnames are easy to guess.
zxcvbn-suggestion-few-words = Use a few words, avoid common phrases.
zxcvbn-suggestion-no-need-for-symbols = No need for symbols, digits, or uppercase letters.
zxcvbn-suggestion-add-a-word = Add another word or two. Uncommon words are better.
zxcvbn-suggestion-capitalization = Capitalization doesn't help very much.
zxcvbn-suggestion-all-uppercase = All-uppercase is almost as easy to guess as all-lowercase.
zxcvbn-suggestion-reversed-words = Reversed words aren't much harder to guess.
zxcvbn-suggestion-substitutions = Predictable substitutions like “@” instead of “a” don't help very much.
zxcvbn-suggestion-longer-keyboard-pattern = Use a longer keyboard pattern with more turns.
zxcvbn-suggestion-avoid-repeats = Avoid repeated words and characters.
zxcvbn-suggestion-avoid-sequences = Avoid sequences.
zxcvbn-suggestion-avoid-recent-years = Avoid recent years.
zxcvbn-suggestion-avoid-your-years = Avoid years that are associated with you.
zxcvbn-suggestion-avoid-your-dates = Avoid dates and years that are associated with you.
