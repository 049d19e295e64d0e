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
