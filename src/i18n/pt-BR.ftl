# A página por trás de um link de redefinição de senha, em português do Brasil.

## Data e hora (UTC)
month-name = { $month ->
    [1] janeiro
    [2] fevereiro
    [3] março
    [4] abril
    [5] maio
    [6] junho
    [7] julho
    [8] agosto
    [9] setembro
    [10] outubro
    [11] novembro
   *[12] dezembro
}
date-time-utc = { $day } de { month-name } de { $year }, { $hour }:{ $minute } UTC

## O formulário
form-title = Crie uma nova senha
form-for = Para { $account }. Este link só pode ser usado uma vez, até { $expires }.
form-password-label = Nova senha
form-password2-label = Repita a nova senha
form-submit = Salvar senha
lang-switch-label = Idioma

## Erros no formulário
error-form-unreadable = Não foi possível ler o formulário: { $why }.
error-csrf = Este formulário está desatualizado. Digite a nova senha de novo.
error-empty = Digite uma nova senha.
error-mismatch = As duas senhas não são iguais.

## Um link que não funciona mais (410)
gone-title = Este link não funciona mais
gone-what = Ele expirou, já foi usado ou foi substituído por um link mais recente. Um link de redefinição só pode ser usado uma vez, por tempo limitado.
gone-next = Para receber um novo, peça sua senha de novo onde pediu antes: no seu programa de weblog ("enviar minha senha") ou no seu provedor de domínios.

## Links inválidos demais a partir de um endereço (429)
too-many-title = Tentativas demais
too-many-body = Foram abertos links inválidos demais a partir do seu endereço. Aguarde { $minutes ->
    [one] um minuto
   *[other] { $minutes } minutos
} e tente de novo.

## O servidor está ocupado ou o banco de dados está indisponível (503)
busy-title = Ocupado
busy-heading = O servidor está ocupado
busy-body = Nada foi alterado. Envie o formulário de novo daqui a pouco.
unavailable-title = Indisponível
unavailable-heading = Não é possível alterar senhas agora
unavailable-body = O banco de dados do servidor está indisponível, então nada foi alterado. Tente de novo mais tarde.

## "Não fui eu"
not-me-title = Não fui eu
not-me-heading = Bloquear { $account }?
not-me-body = Se você não alterou a senha de { $account }, bloqueie a conta agora: ninguém vai conseguir entrar com a nova senha, as sessões dela serão encerradas e um novo link para você escolher sua própria senha será enviado para o endereço da conta.
not-me-submit = Bloquear a conta e me enviar um novo link
locked-title = Conta bloqueada
locked-body = { $account } está bloqueada: ninguém consegue entrar com a senha que foi definida. Um link para você escolher sua própria senha foi enviado para o endereço da conta.

## Pronto
done-title = Senha alterada
done-body = A senha de { $account } foi alterada.

## As regras abaixo do primeiro campo, e o que fazer depois de trocar a senha
policy-weblog = De 8 a 128 caracteres: letras, números, espaços e pontuação (ASCII imprimível, ou seja, sem acentos). Uma frase com várias palavras do dia a dia é bem-vinda; senhas comuns ou fáceis de adivinhar são recusadas.
policy-domain = De { $min } a { $max } caracteres: { $chars }. Senhas comuns ou fáceis de adivinhar são recusadas.
done-next-weblog = Digite a nova senha no seu programa de weblog na próxima vez que ele pedir (no Radio UserLand: a senha do servidor da comunidade, em Preferências).
done-next-domain = Entre no gerenciamento do seu domínio com a nova senha. As sessões anteriores foram encerradas.

## Por que uma nova senha foi recusada
rule-weblog-length = A senha precisa ter de 8 a 128 caracteres (ela tem { $has }).
rule-weblog-characters = A senha só pode ter caracteres ASCII imprimíveis: letras sem acento, números, espaços e pontuação.
rule-domain-length = A senha precisa ter de { $min } a { $max } caracteres.
rule-domain-character = A senha não pode conter "{ $bad }". São permitidos A-Z, a-z, 0-9 e { $allowed }
rule-blocklisted = Esta senha está na lista de senhas vazadas ou proibidas. Escolha outra.
rule-too-easy = Esta senha é fácil demais de adivinhar (força { $score } de 4; o mínimo é { $min }).
sentences = { $first } { $second }

## As dicas do zxcvbn sobre uma senha fácil demais de adivinhar
zxcvbn-warning-straight-rows = Sequências de teclas em linha são fáceis de adivinhar.
zxcvbn-warning-short-keyboard-patterns = Padrões curtos de teclado são fáceis de adivinhar.
zxcvbn-warning-repeats-aaa = Repetições como "aaa" são fáceis de adivinhar.
zxcvbn-warning-repeats-abcabc = Repetições como "abcabcabc" são só um pouco mais difíceis de adivinhar do que "abc".
zxcvbn-warning-top10 = Esta é uma das dez senhas mais comuns.
zxcvbn-warning-top100 = Esta é uma das cem senhas mais comuns.
zxcvbn-warning-common = Esta é uma senha muito comum.
zxcvbn-warning-similar-to-common = Esta senha é parecida com uma senha muito usada.
zxcvbn-warning-sequences = Sequências como abc ou 6543 são fáceis de adivinhar.
zxcvbn-warning-recent-years = Anos recentes são fáceis de adivinhar.
zxcvbn-warning-word-by-itself = Uma palavra sozinha é fácil de adivinhar.
zxcvbn-warning-dates = Datas costumam ser fáceis de adivinhar.
zxcvbn-warning-names-by-themselves = Nomes e sobrenomes sozinhos são fáceis de adivinhar.
zxcvbn-warning-common-names = Nomes e sobrenomes comuns são fáceis de adivinhar.
zxcvbn-suggestion-few-words = Use algumas palavras e evite frases feitas.
zxcvbn-suggestion-no-need-for-symbols = Não precisa de símbolos, números nem letras maiúsculas.
zxcvbn-suggestion-add-a-word = Acrescente mais uma ou duas palavras. Palavras pouco comuns são melhores.
zxcvbn-suggestion-capitalization = Letras maiúsculas não ajudam muito.
zxcvbn-suggestion-all-uppercase = Tudo em maiúsculas é quase tão fácil de adivinhar quanto tudo em minúsculas.
zxcvbn-suggestion-reversed-words = Palavras escritas de trás para a frente não são muito mais difíceis de adivinhar.
zxcvbn-suggestion-substitutions = Trocas previsíveis, como "@" no lugar de "a", não ajudam muito.
zxcvbn-suggestion-longer-keyboard-pattern = Use um padrão de teclado mais longo, com mais mudanças de direção.
zxcvbn-suggestion-avoid-repeats = Evite repetir palavras e caracteres.
zxcvbn-suggestion-avoid-sequences = Evite sequências.
zxcvbn-suggestion-avoid-recent-years = Evite anos recentes.
zxcvbn-suggestion-avoid-your-years = Evite anos ligados a você.
zxcvbn-suggestion-avoid-your-dates = Evite datas e anos ligados a você.
