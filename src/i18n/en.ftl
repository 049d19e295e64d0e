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
# Under the heading of every page: where to ask for help ($support is an address or a web page).
support-line = Questions? Contact { $support }.
form-password-label = New password
form-password2-label = New password, again
form-submit = Set password
lang-switch-label = Language

## Errors on the form
error-form-unreadable = The form could not be read: { $why ->
    [too-large] it is too large
    [field-twice] a field was sent twice
    [bad-percent] it is not encoded correctly
   *[not-utf8] it is not in UTF-8
}. Enter the new password again.
error-csrf = This form is out of date. Enter the new password again.
error-empty = Enter a new password.
error-mismatch = The two passwords do not match.

## Something failed on the server (500)
internal-error-title = Something went wrong
internal-error-body = The server could not finish this request, and nothing was changed. Please try again in a few minutes; if it keeps happening, tell the site's operator.

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
policy-domain = { $min } to { $max } characters: A-Z, a-z, 0-9 and { $symbols }. Common or easily guessed passwords are refused.
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

## Mails. $site is the site's name as its users know it (a community's name, or a domain
## provider's brand), $url its address; $account the account as its owner knows it.
mail-signature = { $site }: { $url }

# The reset link
mail-reset-subject = Reset your password: { $account }
mail-reset-intro = Someone asked to reset the password of { $account } on { $site }.
mail-reset-open = To choose a new password, open this link before { $expires }:
mail-reset-once-from = The link works once. The request came from the address { $ip }.
mail-reset-once-operator = The link works once. The site's operator sent it to you.
mail-reset-ignore = If it wasn't you, ignore this mail: nothing changes until the link is used.

# The notice after a password change
mail-changed-subject = Your password was changed: { $account }
mail-changed-what = The password of { $account } on { $site } was changed on { $changed }, { $method ->
    [reset-link] through a reset link
    [xcp-change] in your domain provider's control panel
   *[xcp-subuser] by the domain's owner, in your domain provider's control panel
}, from the address { $ip }.
mail-changed-what-operator = The password of { $account } on { $site } was changed on { $changed } by the site's operator.
mail-changed-if-you = If that was you, there is nothing to do.
mail-changed-if-not = If it wasn't you, open this link before { $expires }: it locks the account at once (nobody can log in with the new password) and mails you a fresh link to choose your own:
mail-changed-link-text = This wasn't me
# How a password was changed, for an operator's own notice template ({method}).
mail-method = { $method ->
    [reset-link] a reset link
    [xcp-change] the domain provider's control panel
    [xcp-subuser] the domain owner, in the domain provider's control panel
   *[operator] the site's operator
}

# An imported weblog's first mail
mail-moved-subject = Your weblog has moved: { $account }
mail-moved-where = Your weblog { $account } has moved to { $site } ({ $url }). Its pages and files are there, and the old addresses lead to them.
mail-moved-why = The old server kept passwords in a form that could be read back, so your password was not brought over. To choose a new one, open this link before { $expires }:
mail-moved-then = The link works once. Then set the new password in your weblog software (Radio UserLand and others ask for it again at the next upload).

## Accounts as their owners know them
# A domain's second login (an OpenSRS sub-user), e.g. "bob (example.com)".
account-subuser = { $username } ({ $domain })
