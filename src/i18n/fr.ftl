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
date-time-utc = { $day } { month-name } { $year } à { $hour } h { $minute } UTC

## Le formulaire
form-title = Choisir un nouveau mot de passe
form-for = Pour { $account }. Ce lien ne sert qu’une fois, jusqu’au { $expires }.
form-password-label = Nouveau mot de passe
form-password2-label = Confirmez le nouveau mot de passe
form-submit = Enregistrer le mot de passe
lang-switch-label = Langue

## Erreurs dans le formulaire
error-form-unreadable = Le formulaire n’a pas pu être lu : { $why }.
error-csrf = Ce formulaire n’est plus à jour. Saisissez à nouveau le nouveau mot de passe.
error-empty = Saisissez un nouveau mot de passe.
error-mismatch = Les deux mots de passe ne sont pas identiques.

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
policy-domain = De { $min } à { $max } caractères : { $chars }. Les mots de passe courants ou faciles à deviner sont refusés.
done-next-weblog = Saisissez le nouveau mot de passe dans votre logiciel de weblog la prochaine fois qu’il vous le demandera (pour Radio UserLand : le mot de passe du serveur communautaire, dans les Préférences).
done-next-domain = Connectez-vous à la gestion de votre nom de domaine avec le nouveau mot de passe. Les sessions ouvertes auparavant ont été fermées.
