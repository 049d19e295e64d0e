# La page derrière un lien de réinitialisation du mot de passe, en français.

## Date et heure (UTC)
month-name = { $month ->
    [1] janvier
    [2] février
    [3] mars
    [4] avril
    [5] mai
    [6] juin
    [7] juillet
    [8] août
    [9] septembre
    [10] octobre
    [11] novembre
   *[12] décembre
}
# Le premier du mois s’écrit « 1er ».
date-time-utc = { $day ->
    [1] 1er
   *[other] { $day }
} { month-name } { $year } à { $hour } h { $minute } UTC

## Le formulaire
form-title = Choisir un nouveau mot de passe
form-for = Pour { $account }. Ce lien ne sert qu’une fois, jusqu’au { $expires }.
support-line = Des questions ? Contactez { $support }.
form-password-label = Nouveau mot de passe
form-password2-label = Confirmez le nouveau mot de passe
form-submit = Enregistrer le mot de passe
lang-switch-label = Langue

## Erreurs dans le formulaire
error-form-unreadable = Le formulaire n’a pas pu être lu : { $why ->
    [too-large] il est trop volumineux
    [field-twice] un champ a été envoyé deux fois
    [bad-percent] il n’est pas correctement encodé
   *[not-utf8] il n’est pas encodé en UTF-8
}. Saisissez à nouveau le nouveau mot de passe.
error-csrf = Ce formulaire n’est plus à jour. Saisissez à nouveau le nouveau mot de passe.
error-empty = Saisissez un nouveau mot de passe.
error-mismatch = Les deux mots de passe ne sont pas identiques.

## Une erreur sur le serveur (500)
internal-error-title = Une erreur s’est produite
internal-error-body = Le serveur n’a pas pu mener cette demande à bien, et rien n’a été modifié. Réessayez dans quelques minutes ; si le problème persiste, prévenez l’administrateur du site.

## Un lien qui ne fonctionne plus (410)
gone-title = Ce lien ne fonctionne plus
gone-what = Il a expiré, il a déjà servi, ou un lien plus récent l’a remplacé. Un lien de réinitialisation ne sert qu’une fois, pendant un temps limité.
gone-next = Pour en obtenir un nouveau, redemandez votre mot de passe là où vous l’aviez fait : dans votre logiciel de weblog (« envoyer mon mot de passe ») ou chez votre fournisseur de nom de domaine.

## Trop de liens non valides depuis une adresse (429)
too-many-title = Trop de tentatives
too-many-body = Trop de liens non valides ont été ouverts depuis votre adresse. Patientez { $minutes ->
    [one] une minute
   *[other] { $minutes } minutes
} puis réessayez.

## Le serveur est occupé, ou sa base de données est indisponible (503)
busy-title = Serveur occupé
busy-heading = Le serveur est occupé
busy-body = Rien n’a été modifié. Renvoyez le formulaire dans un instant.
unavailable-title = Indisponible
unavailable-heading = Impossible de changer de mot de passe pour le moment
unavailable-body = La base de données du serveur est indisponible : rien n’a été modifié. Réessayez plus tard.

## « Ce n’était pas moi »
not-me-title = Ce n’était pas moi
not-me-heading = Verrouiller { $account } ?
not-me-body = Si vous n’avez pas changé le mot de passe de { $account }, verrouillez le compte maintenant : plus personne ne pourra se connecter avec le nouveau mot de passe, ses sessions seront fermées, et un nouveau lien pour choisir vous-même votre mot de passe sera envoyé à l’adresse du compte.
not-me-submit = Verrouiller le compte et m’envoyer un nouveau lien
locked-title = Compte verrouillé
locked-body = { $account } est verrouillé : plus personne ne peut se connecter avec le mot de passe qui avait été défini. Un lien pour choisir votre propre mot de passe a été envoyé à l’adresse du compte.

## Terminé
done-title = Mot de passe modifié
done-body = Le mot de passe de { $account } a été modifié.

## Les règles sous le premier champ, et la suite une fois le mot de passe changé
policy-weblog = De 8 à 128 caractères : lettres, chiffres, espaces et ponctuation (ASCII imprimable, donc sans accents). Une phrase de passe faite de plusieurs mots courants est bienvenue ; les mots de passe courants ou faciles à deviner sont refusés.
policy-domain = De { $min } à { $max } caractères : A-Z, a-z, 0-9 et { $symbols }. Les mots de passe courants ou faciles à deviner sont refusés.
done-next-weblog = Saisissez le nouveau mot de passe dans votre logiciel de weblog la prochaine fois qu’il vous le demandera (pour Radio UserLand : le mot de passe du serveur communautaire, dans les Préférences).
done-next-domain = Connectez-vous à la gestion de votre nom de domaine avec le nouveau mot de passe. Les sessions ouvertes auparavant ont été fermées.

## Pourquoi un nouveau mot de passe a été refusé
rule-weblog-length = Le mot de passe doit compter de 8 à 128 caractères (il en a { $has }).
rule-weblog-characters = Le mot de passe ne peut contenir que des caractères ASCII imprimables : lettres sans accents, chiffres, espaces et ponctuation.
rule-domain-length = Le mot de passe doit compter de { $min } à { $max } caractères.
rule-domain-character = Le mot de passe ne peut pas contenir « { $bad } ». Sont autorisés A-Z, a-z, 0-9 et { $allowed }
rule-blocklisted = Ce mot de passe figure sur la liste des mots de passe divulgués ou interdits. Choisissez-en un autre.
rule-too-easy = Ce mot de passe est trop facile à deviner (robustesse { $score } sur 4 ; il faut au moins { $min }).
sentences = { $first } { $second }

## Les conseils de zxcvbn pour un mot de passe trop facile à deviner
zxcvbn-warning-straight-rows = Les rangées de touches sont faciles à deviner.
zxcvbn-warning-short-keyboard-patterns = Les motifs de clavier courts sont faciles à deviner.
zxcvbn-warning-repeats-aaa = Les répétitions comme « aaa » sont faciles à deviner.
zxcvbn-warning-repeats-abcabc = Les répétitions comme « abcabcabc » sont à peine plus difficiles à deviner que « abc ».
zxcvbn-warning-top10 = C’est l’un des dix mots de passe les plus courants.
zxcvbn-warning-top100 = C’est l’un des cent mots de passe les plus courants.
zxcvbn-warning-common = C’est un mot de passe très courant.
zxcvbn-warning-similar-to-common = Il ressemble à un mot de passe très utilisé.
zxcvbn-warning-sequences = Les suites comme abc ou 6543 sont faciles à deviner.
zxcvbn-warning-recent-years = Les années récentes sont faciles à deviner.
zxcvbn-warning-word-by-itself = Un mot seul est facile à deviner.
zxcvbn-warning-dates = Les dates sont souvent faciles à deviner.
zxcvbn-warning-names-by-themselves = Les prénoms et noms seuls sont faciles à deviner.
zxcvbn-warning-common-names = Les prénoms et noms courants sont faciles à deviner.
zxcvbn-suggestion-few-words = Utilisez plusieurs mots, en évitant les expressions toutes faites.
zxcvbn-suggestion-no-need-for-symbols = Inutile d’ajouter des symboles, des chiffres ou des majuscules.
zxcvbn-suggestion-add-a-word = Ajoutez un ou deux mots. Les mots peu courants sont préférables.
zxcvbn-suggestion-capitalization = Les majuscules n’aident pas beaucoup.
zxcvbn-suggestion-all-uppercase = Tout en majuscules est presque aussi facile à deviner que tout en minuscules.
zxcvbn-suggestion-reversed-words = Les mots écrits à l’envers ne sont guère plus difficiles à deviner.
zxcvbn-suggestion-substitutions = Les substitutions prévisibles comme « @ » au lieu de « a » n’aident pas beaucoup.
zxcvbn-suggestion-longer-keyboard-pattern = Utilisez un motif de clavier plus long, avec plus de changements de direction.
zxcvbn-suggestion-avoid-repeats = Évitez les mots et les caractères répétés.
zxcvbn-suggestion-avoid-sequences = Évitez les suites.
zxcvbn-suggestion-avoid-recent-years = Évitez les années récentes.
zxcvbn-suggestion-avoid-your-years = Évitez les années qui vous sont associées.
zxcvbn-suggestion-avoid-your-dates = Évitez les dates et les années qui vous sont associées.

## E-mails. $site est le nom du site tel que ses utilisateurs le connaissent (le nom d’une communauté
## ou la marque d’un fournisseur de noms de domaine), $url son adresse ; $account le compte tel que son titulaire le connaît.
mail-signature = { $site } : { $url }

# Le lien de réinitialisation
mail-reset-subject = Réinitialisation de votre mot de passe : { $account }
mail-reset-intro = Quelqu’un a demandé la réinitialisation du mot de passe du compte { $account } sur { $site }.
mail-reset-open = Pour choisir un nouveau mot de passe, ouvrez ce lien avant le { $expires } :
mail-reset-once-from = Ce lien ne sert qu’une fois. La demande a été faite depuis l’adresse IP { $ip }.
mail-reset-once-operator = Ce lien ne sert qu’une fois. C’est l’administrateur du site qui vous l’a envoyé.
mail-reset-ignore = Si vous n’êtes pas à l’origine de cette demande, ignorez ce message : rien ne change tant que le lien n’a pas été utilisé.

# L’avis envoyé après un changement de mot de passe
mail-changed-subject = Votre mot de passe a été modifié : { $account }
mail-changed-what = Le mot de passe du compte { $account } sur { $site } a été modifié le { $changed }, { $method ->
    [reset-link] au moyen d’un lien de réinitialisation
    [xcp-change] dans l’espace client de votre fournisseur de nom de domaine
   *[xcp-subuser] par le titulaire du domaine, dans l’espace client de votre fournisseur de nom de domaine
}, depuis l’adresse IP { $ip }.
mail-changed-what-operator = Le mot de passe du compte { $account } sur { $site } a été modifié le { $changed } par l’administrateur du site.
mail-changed-if-you = Si c’est vous qui l’avez modifié, vous n’avez rien à faire.
mail-changed-if-not = Si ce n’est pas vous, ouvrez ce lien avant le { $expires } : il verrouille aussitôt le compte (plus personne ne peut se connecter avec le nouveau mot de passe) et vous envoie un nouveau lien pour choisir vous-même votre mot de passe :
mail-changed-link-text = Ce n’était pas moi
# Comment un mot de passe a été changé, pour le modèle personnel d’un administrateur ({method}).
mail-method = { $method ->
    [reset-link] un lien de réinitialisation
    [xcp-change] l’espace client du fournisseur de nom de domaine
    [xcp-subuser] le titulaire du domaine, dans l’espace client du fournisseur de nom de domaine
   *[operator] l’administrateur du site
}

# Le premier message d’un weblog importé
mail-moved-subject = Votre weblog a déménagé : { $account }
mail-moved-where = Votre weblog { $account } a déménagé sur { $site } ({ $url }). Ses pages et ses fichiers s’y trouvent désormais, et les anciennes adresses y renvoient.
mail-moved-why = L’ancien serveur conservait les mots de passe sous une forme qui permettait de les relire : votre mot de passe n’a donc pas été repris. Pour en choisir un nouveau, ouvrez ce lien avant le { $expires } :
mail-moved-then = Ce lien ne sert qu’une fois. Saisissez ensuite le nouveau mot de passe dans votre logiciel de weblog (Radio UserLand et d’autres vous le redemanderont lors du prochain envoi vers le serveur).

## Les comptes tels que leurs titulaires les connaissent
# Le deuxième identifiant d’un domaine (un sous-utilisateur OpenSRS), par exemple « bob (example.com) ».
account-subuser = { $username } ({ $domain })
