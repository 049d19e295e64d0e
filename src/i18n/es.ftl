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
support-line = ¿Tienes dudas? Contacta con { $support }.
form-password-label = Contraseña nueva
form-password2-label = Repite la contraseña nueva
form-submit = Guardar contraseña
lang-switch-label = Idioma

## Errores en el formulario
error-form-unreadable = No se pudo leer el formulario: { $why ->
    [too-large] es demasiado grande
    [field-twice] se envió un campo dos veces
    [bad-percent] no está bien codificado
   *[not-utf8] no está en UTF-8
}. Vuelve a escribir la contraseña nueva.
error-csrf = Este formulario ha caducado. Vuelve a escribir la contraseña nueva.
error-empty = Escribe una contraseña nueva.
error-mismatch = Las dos contraseñas no coinciden.

## Un fallo en el servidor (500)
internal-error-title = Algo ha salido mal
internal-error-body = El servidor no ha podido completar esta solicitud y no se ha cambiado nada. Vuelve a intentarlo dentro de unos minutos; si sigue pasando, avisa al administrador del sitio.

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
policy-domain = De { $min } a { $max } caracteres: A-Z, a-z, 0-9 y { $symbols }. Se rechazan las contraseñas habituales o fáciles de adivinar.
done-next-weblog = Escribe la contraseña nueva en tu programa de weblog la próxima vez que te la pida (en Radio UserLand: la contraseña del servidor de la comunidad, en Preferencias).
done-next-domain = Entra en la gestión de tu dominio con la contraseña nueva. Se han cerrado las sesiones anteriores.

## Por qué se rechazó una contraseña nueva
rule-weblog-length = La contraseña debe tener de 8 a 128 caracteres (tiene { $has }).
rule-weblog-characters = La contraseña solo puede contener caracteres ASCII imprimibles: letras sin tildes ni eñes, cifras, espacios y signos de puntuación.
rule-domain-length = La contraseña debe tener de { $min } a { $max } caracteres.
rule-domain-character = La contraseña no puede contener «{ $bad }». Se admiten A-Z, a-z, 0-9 y { $allowed }
rule-blocklisted = Esta contraseña está en la lista de contraseñas filtradas o prohibidas. Elige otra.
rule-too-easy = Esta contraseña es demasiado fácil de adivinar (robustez { $score } de 4; hace falta al menos { $min }).
sentences = { $first } { $second }

## Los consejos de zxcvbn sobre una contraseña demasiado fácil de adivinar
zxcvbn-warning-straight-rows = Las filas de teclas seguidas son fáciles de adivinar.
zxcvbn-warning-short-keyboard-patterns = Los patrones cortos de teclado son fáciles de adivinar.
zxcvbn-warning-repeats-aaa = Las repeticiones como «aaa» son fáciles de adivinar.
zxcvbn-warning-repeats-abcabc = Las repeticiones como «abcabcabc» son apenas más difíciles de adivinar que «abc».
zxcvbn-warning-top10 = Es una de las diez contraseñas más comunes.
zxcvbn-warning-top100 = Es una de las cien contraseñas más comunes.
zxcvbn-warning-common = Es una contraseña muy común.
zxcvbn-warning-similar-to-common = Se parece a una contraseña muy usada.
zxcvbn-warning-sequences = Las secuencias como abc o 6543 son fáciles de adivinar.
zxcvbn-warning-recent-years = Los años recientes son fáciles de adivinar.
zxcvbn-warning-word-by-itself = Una sola palabra es fácil de adivinar.
zxcvbn-warning-dates = Las fechas suelen ser fáciles de adivinar.
zxcvbn-warning-names-by-themselves = Los nombres y apellidos por sí solos son fáciles de adivinar.
zxcvbn-warning-common-names = Los nombres y apellidos comunes son fáciles de adivinar.
zxcvbn-suggestion-few-words = Usa varias palabras y evita las frases hechas.
zxcvbn-suggestion-no-need-for-symbols = No hacen falta símbolos, cifras ni mayúsculas.
zxcvbn-suggestion-add-a-word = Añade una o dos palabras más. Mejor si son poco comunes.
zxcvbn-suggestion-capitalization = Las mayúsculas no ayudan mucho.
zxcvbn-suggestion-all-uppercase = Todo en mayúsculas es casi tan fácil de adivinar como todo en minúsculas.
zxcvbn-suggestion-reversed-words = Las palabras escritas al revés no son mucho más difíciles de adivinar.
zxcvbn-suggestion-substitutions = Las sustituciones previsibles, como «@» en lugar de «a», no ayudan mucho.
zxcvbn-suggestion-longer-keyboard-pattern = Usa un patrón de teclado más largo y con más giros.
zxcvbn-suggestion-avoid-repeats = Evita repetir palabras y caracteres.
zxcvbn-suggestion-avoid-sequences = Evita las secuencias.
zxcvbn-suggestion-avoid-recent-years = Evita los años recientes.
zxcvbn-suggestion-avoid-your-years = Evita los años relacionados contigo.
zxcvbn-suggestion-avoid-your-dates = Evita las fechas y los años relacionados contigo.

## Correos. $site es el nombre del sitio tal como lo conocen sus usuarios (el nombre de una comunidad
## o la marca de un proveedor de dominios), $url su dirección; $account la cuenta tal como la conoce su titular.
mail-signature = { $site }: { $url }

# El enlace para restablecer la contraseña
mail-reset-subject = Restablece tu contraseña: { $account }
mail-reset-intro = Alguien ha pedido restablecer la contraseña de { $account } en { $site }.
mail-reset-open = Para elegir una contraseña nueva, abre este enlace antes del { $expires }:
mail-reset-once-from = El enlace solo sirve una vez. La solicitud se hizo desde la dirección IP { $ip }.
mail-reset-once-operator = El enlace solo sirve una vez. Te lo ha enviado el administrador del sitio.
mail-reset-ignore = Si no has sido tú, ignora este correo: no cambiará nada mientras no se use el enlace.

# El aviso tras un cambio de contraseña
mail-changed-subject = Se ha cambiado tu contraseña: { $account }
mail-changed-what = La contraseña de { $account } en { $site } se cambió el { $changed }, { $method ->
    [reset-link] mediante un enlace para restablecerla
    [xcp-change] en el panel de control de tu proveedor de dominios
   *[xcp-subuser] por el titular del dominio, en el panel de control de tu proveedor de dominios
}, desde la dirección IP { $ip }.
mail-changed-what-operator = El administrador del sitio cambió la contraseña de { $account } en { $site } el { $changed }.
mail-changed-if-you = Si has sido tú, no tienes que hacer nada.
mail-changed-if-not = Si no has sido tú, abre este enlace antes del { $expires }: bloquea la cuenta al instante (nadie podrá entrar con la contraseña nueva) y te envía un enlace nuevo para que elijas tu propia contraseña:
mail-changed-link-text = No he sido yo
# Cómo se cambió una contraseña, para la plantilla propia de un administrador ({method}).
mail-method = { $method ->
    [reset-link] un enlace para restablecer la contraseña
    [xcp-change] el panel de control del proveedor de dominios
    [xcp-subuser] el titular del dominio, en el panel de control del proveedor de dominios
   *[operator] el administrador del sitio
}

# El primer correo de un weblog importado
mail-moved-subject = Tu weblog se ha mudado: { $account }
mail-moved-where = Tu weblog { $account } se ha mudado a { $site } ({ $url }). Sus páginas y archivos están ahora allí, y las direcciones antiguas llevan hasta ellos.
mail-moved-why = El servidor antiguo guardaba las contraseñas de una forma que permitía volver a leerlas, así que tu contraseña no se ha trasladado. Para elegir una nueva, abre este enlace antes del { $expires }:
mail-moved-then = El enlace solo sirve una vez. Después, escribe la contraseña nueva en tu programa de weblog (Radio UserLand y otros te la volverán a pedir la próxima vez que subas archivos).

## Las cuentas tal como las conocen sus titulares
# El segundo usuario de un dominio (un subusuario de OpenSRS), p. ej. «bob (example.com)».
account-subuser = { $username } ({ $domain })
