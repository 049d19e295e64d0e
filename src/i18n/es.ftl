# La página tras un enlace para restablecer la contraseña, en español.

## Fecha y hora (UTC)
month-name = { $month ->
    [1] enero
    [2] febrero
    [3] marzo
    [4] abril
    [5] mayo
    [6] junio
    [7] julio
    [8] agosto
    [9] septiembre
    [10] octubre
    [11] noviembre
   *[12] diciembre
}
date-time-utc = { $day } de { month-name } de { $year }, { $hour }:{ $minute } UTC

## El formulario
form-title = Elige una contraseña nueva
form-for = Para { $account }. Este enlace solo sirve una vez, hasta el { $expires }.
form-password-label = Contraseña nueva
form-password2-label = Repite la contraseña nueva
form-submit = Guardar contraseña
lang-switch-label = Idioma

## Errores en el formulario
error-form-unreadable = No se pudo leer el formulario: { $why }.
error-csrf = Este formulario ha caducado. Vuelve a escribir la contraseña nueva.
error-empty = Escribe una contraseña nueva.
error-mismatch = Las dos contraseñas no coinciden.

## Un enlace que ya no funciona (410)
gone-title = Este enlace ya no funciona
gone-what = Ha caducado, ya se usó o lo ha sustituido otro más reciente. Un enlace para restablecer la contraseña solo sirve una vez y durante un tiempo limitado.
gone-next = Para recibir uno nuevo, vuelve a pedir tu contraseña donde la pediste antes: en tu programa de weblog («enviarme la contraseña») o en tu proveedor de dominios.

## Demasiados enlaces no válidos desde una dirección (429)
too-many-title = Demasiados intentos
too-many-body = Se han abierto demasiados enlaces no válidos desde tu dirección. Espera { $minutes ->
    [one] un minuto
   *[other] { $minutes } minutos
} y vuelve a intentarlo.

## El servidor está ocupado o su base de datos no está disponible (503)
busy-title = Servidor ocupado
busy-heading = El servidor está ocupado
busy-body = No se ha cambiado nada. Vuelve a enviar el formulario dentro de un momento.
unavailable-title = No disponible
unavailable-heading = Ahora mismo no se pueden cambiar contraseñas
unavailable-body = La base de datos del servidor no está disponible, así que no se ha cambiado nada. Inténtalo de nuevo más tarde.

## «No he sido yo»
not-me-title = No he sido yo
not-me-heading = ¿Bloquear { $account }?
not-me-body = Si no has cambiado la contraseña de { $account }, bloquea la cuenta ahora: nadie podrá entrar con la contraseña nueva, sus sesiones se cerrarán y se enviará a la dirección de la cuenta un enlace nuevo para que elijas tu propia contraseña.
not-me-submit = Bloquear la cuenta y enviarme un enlace nuevo
locked-title = Cuenta bloqueada
locked-body = { $account } está bloqueada: nadie puede entrar con la contraseña que se puso. Se ha enviado a la dirección de la cuenta un enlace para que elijas tu propia contraseña.

## Hecho
done-title = Contraseña cambiada
done-body = Se ha cambiado la contraseña de { $account }.

## Las reglas bajo el primer campo, y qué hacer una vez cambiada la contraseña
policy-weblog = De 8 a 128 caracteres: letras, cifras, espacios y signos de puntuación (ASCII imprimible, es decir, sin tildes ni eñes). Una frase de varias palabras corrientes es bienvenida; se rechazan las contraseñas habituales o fáciles de adivinar.
policy-domain = De { $min } a { $max } caracteres: { $chars }. Se rechazan las contraseñas habituales o fáciles de adivinar.
done-next-weblog = Escribe la contraseña nueva en tu programa de weblog la próxima vez que te la pida (en Radio UserLand: la contraseña del servidor de la comunidad, en Preferencias).
done-next-domain = Entra en la gestión de tu dominio con la contraseña nueva. Se han cerrado las sesiones anteriores.
