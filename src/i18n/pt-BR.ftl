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
# O primeiro dia do mês se escreve "1º".
date-time-utc = { $day ->
    [1] 1º
   *[other] { $day }
} de { month-name } de { $year }, { $hour }:{ $minute } UTC

## O formulário
form-title = Crie uma nova senha
form-for = Para { $account }. Este link só pode ser usado uma vez, até { $expires }.
support-line = Dúvidas? Entre em contato: { $support }.
form-password-label = Nova senha
form-password2-label = Repita a nova senha
form-submit = Salvar senha
lang-switch-label = Idioma

## Erros no formulário
error-form-unreadable = Não foi possível ler o formulário: { $why ->
    [too-large] ele é grande demais
    [field-twice] um campo foi enviado duas vezes
    [bad-percent] ele não está codificado corretamente
   *[not-utf8] ele não está em UTF-8
}. Digite a nova senha de novo.
error-csrf = Este formulário está desatualizado. Digite a nova senha de novo.
error-empty = Digite uma nova senha.
error-mismatch = As duas senhas não são iguais.

## Algo deu errado no servidor (500)
internal-error-title = Algo deu errado
internal-error-body = O servidor não conseguiu concluir esta solicitação, e nada foi alterado. Tente de novo daqui a alguns minutos; se o problema continuar, avise o administrador do site.

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
policy-domain = De { $min } a { $max } caracteres: A-Z, a-z, 0-9 e { $symbols }. Senhas comuns ou fáceis de adivinhar são recusadas.
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

## E-mails. $site é o nome do site como os usuários o conhecem (o nome de uma comunidade ou
## a marca de um provedor de domínios), $url é o endereço dele; $account é a conta como o dono a conhece.
mail-signature = { $site }: { $url }

# O link de redefinição
mail-reset-subject = Redefina sua senha: { $account }
mail-reset-intro = Alguém pediu para redefinir a senha de { $account } em { $site }.
mail-reset-open = Para escolher uma nova senha, abra este link antes de { $expires }:
mail-reset-once-from = O link só pode ser usado uma vez. O pedido foi feito a partir do endereço IP { $ip }.
mail-reset-once-operator = O link só pode ser usado uma vez. Quem enviou este link para você foi o administrador do site.
mail-reset-ignore = Se não foi você, ignore este e-mail: nada muda enquanto o link não for usado.

# O aviso depois de uma troca de senha
mail-changed-subject = Sua senha foi alterada: { $account }
mail-changed-what = A senha de { $account } em { $site } foi alterada em { $changed }, { $method ->
    [reset-link] por meio de um link de redefinição
    [xcp-change] no painel de controle do seu provedor de domínios
   *[xcp-subuser] pelo titular do domínio, no painel de controle do seu provedor de domínios
}, a partir do endereço IP { $ip }.
mail-changed-what-operator = A senha de { $account } em { $site } foi alterada em { $changed } pelo administrador do site.
mail-changed-if-you = Se foi você, não é preciso fazer nada.
mail-changed-if-not = Se não foi você, abra este link antes de { $expires }: ele bloqueia a conta na hora (ninguém vai conseguir entrar com a nova senha) e envia para você um novo link para escolher sua própria senha:
mail-changed-link-text = Não fui eu
# Como uma senha foi alterada, para o modelo próprio de um administrador ({method}).
mail-method = { $method ->
    [reset-link] link de redefinição
    [xcp-change] painel de controle do provedor de domínios
    [xcp-subuser] titular do domínio, no painel de controle do provedor de domínios
   *[operator] administrador do site
}

# O primeiro e-mail de um weblog importado
mail-moved-subject = Seu weblog mudou de endereço: { $account }
mail-moved-where = Seu weblog { $account } mudou para { $site } ({ $url }). As páginas e os arquivos dele estão lá agora, e os endereços antigos levam até eles.
mail-moved-why = O servidor antigo guardava as senhas de um jeito que permitia lê-las de volta, por isso sua senha não foi transferida. Para escolher uma nova, abra este link antes de { $expires }:
mail-moved-then = O link só pode ser usado uma vez. Depois, digite a nova senha no seu programa de weblog (o Radio UserLand e outros vão pedi-la de novo no próximo envio de arquivos).

## Contas como os donos as conhecem
# O segundo login de um domínio (um subusuário do OpenSRS), por exemplo "bob (example.com)".
account-subuser = { $username } ({ $domain })
