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
