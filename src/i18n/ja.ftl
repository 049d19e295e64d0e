# パスワード再設定リンクの先のページ（日本語）。

## 日時（UTC）
month-name = { $month }
date-time-utc = { $year }年{ $month }月{ $day }日 { $hour }:{ $minute }（UTC）

## フォーム
form-title = 新しいパスワードの設定
form-for = 対象：{ $account }。このリンクは{ $expires }まで、一度だけ使えます。
support-line = ご不明な点は { $support } までお問い合わせください。
form-password-label = 新しいパスワード
form-password2-label = 新しいパスワード（確認）
form-submit = パスワードを設定する
lang-switch-label = 言語

## フォームのエラー
error-form-unreadable = { $why ->
    [too-large] 送信された内容が大きすぎる
    [field-twice] 同じ項目が2回送信された
    [bad-percent] 送信された内容のエンコードが正しくない
   *[not-utf8] 送信された内容がUTF-8ではない
}ため、フォームを読み取れませんでした。新しいパスワードをもう一度入力してください。
error-csrf = このフォームは古くなっています。新しいパスワードをもう一度入力してください。
error-empty = 新しいパスワードを入力してください。
error-mismatch = 2つのパスワードが一致しません。

## サーバーでのエラー（500）
internal-error-title = エラーが発生しました
internal-error-body = サーバーでこのリクエストの処理を完了できませんでした。何も変更されていません。数分後にもう一度お試しください。何度も同じことが起きる場合は、サイトの運営者にお知らせください。

## 使えなくなったリンク（410）
gone-title = このリンクは使えなくなりました
gone-what = 有効期限が切れたか、すでに使われたか、新しいリンクに置き換えられました。再設定リンクは一定の時間内に一度だけ使えます。
gone-next = 新しいリンクが必要な場合は、前回と同じ場所でもう一度パスワードを請求してください（ウェブログのソフトの「パスワードをメールで送る」、またはドメインの取扱業者）。

## 同じアドレスからの無効なリンクが多すぎる（429）
too-many-title = 試行回数が多すぎます
too-many-body = お使いのアドレスから無効なリンクが何度も開かれました。{ $minutes }分ほど待ってから、もう一度お試しください。

## サーバーが混雑している、またはデータベースが使えない（503）
busy-title = 混雑中
busy-heading = サーバーが混雑しています
busy-body = 何も変更されていません。少し待ってから、もう一度フォームを送信してください。
unavailable-title = 利用できません
unavailable-heading = 現在パスワードを変更できません
unavailable-body = サーバーのデータベースが利用できないため、何も変更されていません。しばらくしてからもう一度お試しください。

## 「身に覚えがない」
not-me-title = 身に覚えがありません
not-me-heading = { $account } をロックしますか？
not-me-body = { $account } のパスワードを変更した覚えがない場合は、今すぐロックしてください。新しいパスワードではだれもログインできなくなり、ログイン中のセッションは終了し、ご自身でパスワードを決めるための新しいリンクがアカウントのアドレスに送られます。
not-me-submit = アカウントをロックして新しいリンクを送る
locked-title = アカウントをロックしました
locked-body = { $account } はロックされました。設定されたパスワードではだれもログインできません。ご自身でパスワードを決めるためのリンクを、アカウントのアドレスに送りました。

## 完了
done-title = パスワードを変更しました
done-body = { $account } のパスワードを変更しました。

## 最初の欄の下に表示する規則と、変更後にすること
policy-weblog = 8～128文字の半角英数字・スペース・記号（印字可能なASCII文字。日本語は使えません）。ふだん使う単語をいくつか並べたパスフレーズもおすすめです。よく使われるパスワードや推測されやすいパスワードは使えません。
policy-domain = { $min }～{ $max }文字。使える文字：A-Z、a-z、0-9、{ $symbols }。よく使われるパスワードや推測されやすいパスワードは使えません。
done-next-weblog = 次にウェブログのソフトから求められたときに、新しいパスワードを入力してください（Radio UserLand の場合は、環境設定のコミュニティサーバーのパスワード）。
done-next-domain = 新しいパスワードでドメイン管理画面にログインしてください。以前のセッションはログアウトされました。

## 新しいパスワードが使えなかった理由
rule-weblog-length = パスワードは8～128文字にしてください（現在{ $has }文字）。
rule-weblog-characters = パスワードに使えるのは、印字可能なASCII文字（半角の英字・数字・スペース・記号）だけです。
rule-domain-length = パスワードは{ $min }～{ $max }文字にしてください。
rule-domain-character = パスワードに「{ $bad }」は使えません。使える文字：A-Z、a-z、0-9、{ $allowed }
rule-blocklisted = このパスワードは、流出したパスワードまたは使用禁止のパスワードの一覧に載っています。別のパスワードにしてください。
rule-too-easy = このパスワードは推測されやすすぎます（強度 { $score }/4、{ $min } 以上が必要です）。
sentences = { $first }{ $second }

## 推測されやすいパスワードへの zxcvbn の助言
zxcvbn-warning-straight-rows = キーボードで横一列に並んだキーは推測されやすいです。
zxcvbn-warning-short-keyboard-patterns = 短いキーボードのパターンは推測されやすいです。
zxcvbn-warning-repeats-aaa = 「aaa」のような繰り返しは推測されやすいです。
zxcvbn-warning-repeats-abcabc = 「abcabcabc」のような繰り返しは、「abc」よりわずかに推測しにくいだけです。
zxcvbn-warning-top10 = よく使われるパスワードの上位10位に入っています。
zxcvbn-warning-top100 = よく使われるパスワードの上位100位に入っています。
zxcvbn-warning-common = 非常によく使われるパスワードです。
zxcvbn-warning-similar-to-common = よく使われるパスワードに似ています。
zxcvbn-warning-sequences = 「abc」や「6543」のような連続した文字は推測されやすいです。
zxcvbn-warning-recent-years = 最近の年は推測されやすいです。
zxcvbn-warning-word-by-itself = 単語ひとつだけでは推測されやすいです。
zxcvbn-warning-dates = 日付は推測されやすいことが多いです。
zxcvbn-warning-names-by-themselves = 名前や名字だけでは推測されやすいです。
zxcvbn-warning-common-names = よくある名前や名字は推測されやすいです。
zxcvbn-suggestion-few-words = 単語をいくつか組み合わせてください。ありふれた言い回しは避けてください。
zxcvbn-suggestion-no-need-for-symbols = 記号や数字、大文字を入れる必要はありません。
zxcvbn-suggestion-add-a-word = 単語をもう1つか2つ加えてください。あまり使われない単語のほうが安全です。
zxcvbn-suggestion-capitalization = 大文字にしても、あまり強くなりません。
zxcvbn-suggestion-all-uppercase = すべて大文字でも、すべて小文字とほとんど変わらず推測されやすいです。
zxcvbn-suggestion-reversed-words = 単語を逆から書いても、あまり推測しにくくなりません。
zxcvbn-suggestion-substitutions = 「a」の代わりに「@」のような、予想しやすい置き換えはあまり効果がありません。
zxcvbn-suggestion-longer-keyboard-pattern = 向きを何度も変える、もっと長いキーボードのパターンにしてください。
zxcvbn-suggestion-avoid-repeats = 単語や文字の繰り返しは避けてください。
zxcvbn-suggestion-avoid-sequences = 連続した文字は避けてください。
zxcvbn-suggestion-avoid-recent-years = 最近の年は避けてください。
zxcvbn-suggestion-avoid-your-years = ご自身に関係のある年は避けてください。
zxcvbn-suggestion-avoid-your-dates = ご自身に関係のある日付や年は避けてください。

## メール。$site は利用者が知っているサイト名（コミュニティの名前、またはドメイン取扱業者のブランド名）、
## $url はそのアドレス、$account は所有者が知っているアカウント名。
mail-signature = { $site }：{ $url }

# 再設定リンク
mail-reset-subject = パスワードの再設定：{ $account }
mail-reset-intro = { $site } の { $account } について、パスワードの再設定が申請されました。
mail-reset-open = 新しいパスワードを設定するには、{ $expires }までに以下のリンクを開いてください。
mail-reset-once-from = このリンクは一度しか使えません。この申請はIPアドレス { $ip } から行われました。
mail-reset-once-operator = このリンクは一度しか使えません。このメールは、サイトの運営者の操作によって送信されました。
mail-reset-ignore = お心当たりがない場合は、このメールを無視してください。リンクが使われない限り、何も変更されません。

# パスワード変更後のお知らせ
mail-changed-subject = パスワードが変更されました：{ $account }
mail-changed-what = { $site } の { $account } のパスワードが、{ $changed }に{ $method ->
    [reset-link] 再設定リンクから
    [xcp-change] ご利用のドメイン取扱業者のコントロールパネルで
   *[xcp-subuser] ドメインの所有者によって、ご利用のドメイン取扱業者のコントロールパネルで
}変更されました。変更はIPアドレス { $ip } から行われました。
mail-changed-what-operator = { $site } の { $account } のパスワードが、{ $changed }にサイトの運営者によって変更されました。
mail-changed-if-you = ご自身で変更された場合は、何もする必要はありません。
mail-changed-if-not = お心当たりがない場合は、{ $expires }までに以下のリンクを開いてください。アカウントがすぐにロックされ（新しいパスワードではだれもログインできなくなります）、ご自身でパスワードを決めるための新しいリンクがメールで届きます。
mail-changed-link-text = 身に覚えがありません
# パスワードの変更方法。運営者が独自に用意したテンプレートの {method} に入る。
mail-method = { $method ->
    [reset-link] 再設定リンク
    [xcp-change] ドメイン取扱業者のコントロールパネル
    [xcp-subuser] ドメインの所有者（ドメイン取扱業者のコントロールパネル）
   *[operator] サイトの運営者
}

# 移転したウェブログへの最初のメール
mail-moved-subject = ウェブログが移転しました：{ $account }
mail-moved-where = お使いのウェブログ { $account } は { $site }（{ $url }）に移転しました。ページとファイルは移転先にあり、以前のアドレスにアクセスすると移転先に案内されます。
mail-moved-why = 以前のサーバーはパスワードを復元できる形で保存していたため、パスワードは引き継がれていません。新しいパスワードを設定するには、{ $expires }までに以下のリンクを開いてください。
mail-moved-then = このリンクは一度しか使えません。その後、ウェブログのソフトに新しいパスワードを入力してください（Radio UserLand などでは、次回のアップロードの際にパスワードの入力を求められます）。

## 所有者が知っているアカウント名
# ドメインの2つ目のログイン（OpenSRS のサブユーザー）。例：「bob（example.com）」。
account-subuser = { $username }（{ $domain }）
