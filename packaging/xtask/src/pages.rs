//! The two man pages, as roff text: `passlink(8)` from the clap definition and
//! `passlink.toml(5)` from the commented `etc/passlink.toml`.
//!
//! This file depends on nothing but `clap` and std, so that the integration test
//! `tests/it/man.rs` can include it with `#[path]` and check the very text the packages ship,
//! without running cargo from inside a test.

use clap::{Arg, ArgAction, Command};

// ---------------------------------------------------------------------------------------------
// roff escaping

/// A string exactly as typed: in a file, or on a command line. Every character that groff
/// would otherwise turn into typography (a hyphen for `-`, curly quotes, a modifier tilde) or
/// into a request or escape is written as the escape for the ASCII character itself, so that
/// text copied from the rendered page is what was meant.
pub fn code(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\(rs"),
            '-' => out.push_str("\\-"),
            '"' => out.push_str("\\(dq"),
            '\'' => out.push_str("\\(aq"),
            '`' => out.push_str("\\(ga"),
            '~' => out.push_str("\\(ti"),
            '^' => out.push_str("\\(ha"),
            c => out.push(c),
        }
    }
    out
}

/// Running text. A `` `span` `` is code, set in bold; elsewhere a hyphen inside an ordinary
/// word ("single-use") stays a hyphen, and every other `-` (options, header names, values) is
/// the ASCII one, as man-pages(7) asks.
pub fn prose(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for (i, part) in text.split('`').enumerate() {
        if i % 2 == 1 {
            out.push_str("\\fB");
            out.push_str(&code(part));
            out.push_str("\\fR");
            continue;
        }
        let mut first = true;
        for word in part.split(' ') {
            if !first {
                out.push(' ');
            }
            first = false;
            if is_hyphenated_word(word) {
                out.push_str(word);
            } else {
                out.push_str(&code(word).replace("\\(aq", "'"));
            }
        }
    }
    out
}

/// "single-use", "(re-reads)," and plain words: lower-case letters, hyphens between them.
fn is_hyphenated_word(word: &str) -> bool {
    let core = word.trim_matches(|c: char| "()[],.;:!?".contains(c));
    !core.is_empty()
        && !core.starts_with('-')
        && !core.ends_with('-')
        && core.bytes().all(|b| b.is_ascii_alphabetic() || b == b'-')
        && core.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
}

/// One input line: a leading `.` or `'` would be read as a request.
fn line(text: &str) -> String {
    if text.starts_with('.') || text.starts_with('\'') {
        format!("\\&{text}\n")
    } else {
        format!("{text}\n")
    }
}

/// Comment text as roff: lines indented by a space or more are code, set as they are and a
/// little indented; an empty line is a paragraph break; other lines are running text.
fn text_block(lines: &[String]) -> String {
    #[derive(PartialEq)]
    enum State {
        Start,
        Text,
        Code,
        Break,
    }
    let is_code = |l: &str| l.starts_with(' ');
    let mut out = String::new();
    let mut state = State::Start;
    for (i, l) in lines.iter().enumerate() {
        if l.is_empty() {
            // An empty line between two code lines belongs to the example.
            let code_follows = lines.get(i + 1).is_some_and(|n| is_code(n));
            if state == State::Code && code_follows {
                // Roff source keeps no empty lines: a blank output line is a request.
                out.push_str(".sp\n");
            } else {
                if state == State::Code {
                    out.push_str(".EE\n.RE\n");
                }
                if state != State::Start {
                    state = State::Break;
                }
            }
        } else if is_code(l) {
            if state != State::Code {
                if state != State::Start {
                    out.push_str(".PP\n");
                }
                out.push_str(".RS 4\n.EX\n");
                state = State::Code;
            }
            // The example's own indentation, relative to its least indented line.
            let indent = lines[i..]
                .iter()
                .take_while(|l| l.is_empty() || is_code(l))
                .filter(|l| !l.is_empty())
                .map(|l| l.len() - l.trim_start().len())
                .min()
                .unwrap_or(0);
            out.push_str(&line(&code(l.get(indent..).unwrap_or(l))));
        } else {
            if state == State::Code {
                out.push_str(".EE\n.RE\n");
            }
            if matches!(state, State::Code | State::Break) {
                out.push_str(".PP\n");
            }
            out.push_str(&line(&prose(l)));
            state = State::Text;
        }
    }
    if state == State::Code {
        out.push_str(".EE\n.RE\n");
    }
    out
}

// ---------------------------------------------------------------------------------------------
// passlink.toml(5)

/// A parsed `etc/passlink.toml`: its opening comment and its tables.
struct ConfigFile {
    intro: Vec<String>,
    sections: Vec<Section>,
}

struct Section {
    /// `[server]` or `[[listener]]`.
    header: String,
    /// Only commented out in the file: no such table by default.
    commented: bool,
    items: Vec<Item>,
}

enum Item {
    /// A comment that is about the table, not one key.
    Text(Vec<String>),
    Key {
        /// The TOML, one or more lines (an array may span several).
        toml: Vec<String>,
        /// Commented out in the file: an example, not a default.
        example: bool,
        text: Vec<String>,
    },
}

/// `key = value` or `table.key = value`, as a setting (perhaps commented out) is written.
fn is_key_line(text: &str) -> bool {
    text.split_once(" = ").is_some_and(|(key, _)| {
        !key.is_empty()
            && key
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.')
    })
}

/// `[table]` or `[[table]]`.
fn is_table_line(text: &str) -> bool {
    let name = text.trim_start_matches('[').trim_end_matches(']');
    text.starts_with('[')
        && text.ends_with(']')
        && !name.is_empty()
        && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
}

/// How much deeper in `[`…`]` a line of TOML leaves a value, strings aside.
fn bracket_depth(text: &str) -> i32 {
    let mut depth = 0;
    let mut in_string = false;
    let mut escaped = false;
    for c in text.chars() {
        match (in_string, c) {
            (true, '\\') if !escaped => {
                escaped = true;
                continue;
            }
            (true, '"') if !escaped => in_string = false,
            (false, '"') => in_string = true,
            (false, '[') => depth += 1,
            (false, ']') => depth -= 1,
            (false, '#') => break,
            _ => {}
        }
        escaped = false;
    }
    depth
}

fn parse_config(config: &str) -> Result<ConfigFile, String> {
    let mut file = ConfigFile {
        intro: Vec::new(),
        sections: Vec::new(),
    };
    let mut comments: Vec<String> = Vec::new();
    let mut lines = config.lines().enumerate();
    // A comment block ends at an empty line: it is then about the table (or, before the first
    // table, the whole file), unless a key follows it directly.
    let flush = |file: &mut ConfigFile, comments: &mut Vec<String>| {
        if comments.is_empty() {
            return;
        }
        let block = std::mem::take(comments);
        match file.sections.last_mut() {
            Some(section) => section.items.push(Item::Text(block)),
            None => {
                if !file.intro.is_empty() {
                    file.intro.push(String::new());
                }
                file.intro.extend(block);
            }
        }
    };
    while let Some((number, raw)) = lines.next() {
        let trimmed = raw.trim_end();
        let (content, commented) = match trimmed.strip_prefix('#') {
            Some(c) => (c.strip_prefix(' ').unwrap_or(c), true),
            None => (trimmed, false),
        };
        if trimmed.is_empty() {
            flush(&mut file, &mut comments);
        } else if is_table_line(content) {
            flush(&mut file, &mut comments);
            file.sections.push(Section {
                header: content.to_string(),
                commented,
                items: Vec::new(),
            });
        } else if is_key_line(content) {
            let Some(section) = file.sections.last_mut() else {
                return Err(format!("line {}: a key before any table", number + 1));
            };
            let mut toml = vec![content.to_string()];
            let mut depth = bracket_depth(content);
            while depth > 0 {
                let Some((_, more)) = lines.next() else {
                    return Err(format!("line {}: unterminated array", number + 1));
                };
                let more = match (commented, more.trim_start().strip_prefix('#')) {
                    (true, Some(c)) => c.strip_prefix(' ').unwrap_or(c),
                    _ => more,
                };
                depth += bracket_depth(more);
                toml.push(more.trim_end().to_string());
            }
            if comments.is_empty() {
                return Err(format!(
                    "line {}: {} has no comment above it to describe it",
                    number + 1,
                    content
                ));
            }
            section.items.push(Item::Key {
                toml,
                example: commented,
                text: std::mem::take(&mut comments),
            });
        } else if commented {
            comments.push(content.to_string());
        } else {
            return Err(format!("line {}: not understood: {trimmed}", number + 1));
        }
    }
    flush(&mut file, &mut comments);
    Ok(file)
}

/// passlink.toml(5) from the commented default config: its opening comment the description,
/// each table a section, each key its TOML (default or example) and the comment above it.
pub fn config_page(config: &str, version: &str) -> Result<String, String> {
    let file = parse_config(config)?;
    let mut out = format!(
        ".TH PASSLINK.TOML 5 \"\" \"passlink {version}\" \"File Formats\"\n\
         .\\\" Identifiers, paths and TOML must not be hyphenated (HY: groff's .EE turns\n\
         .\\\" hyphenation back on to that), and ragged right keeps them from being spread apart.\n\
         .nr HY 0\n\
         .nh\n\
         .ad l\n\
         .SH NAME\n\
         passlink.toml \\- configuration file of passlink\n\
         .SH SYNOPSIS\n\
         .I /etc/passlink/passlink.toml\n\
         .SH DESCRIPTION\n"
    );
    out.push_str(&text_block(&file.intro));
    out.push_str(
        ".PP\n\
         Each key below is shown as a line of TOML with its built\\-in default, under the \
         table it belongs in, so that it can be copied into the file as it is. A key marked as \
         an example has no default: it is not set unless the file sets it.\n",
    );
    for section in &file.sections {
        out.push_str(&format!(".SH \"{}\"\n", code(&section.header)));
        for item in &section.items {
            match item {
                Item::Text(text) => {
                    out.push_str(".PP\n");
                    out.push_str(&text_block(text));
                }
                Item::Key {
                    toml,
                    example,
                    text,
                } => {
                    out.push_str(".PP\n.EX\n");
                    for l in toml {
                        out.push_str(&line(&code(l)));
                    }
                    out.push_str(".EE\n.RS\n");
                    if *example && !section.commented {
                        out.push_str("Not set by default; the line above is an example.\n.PP\n");
                    }
                    out.push_str(&text_block(text));
                    out.push_str(".RE\n");
                }
            }
        }
    }
    out.push_str(
        ".SH FILES\n\
         .TP\n\
         .I /etc/passlink/passlink.toml\n\
         The configuration file, read unless \\fB\\-\\-config\\fR or \\fBPASSLINK_CONFIG\\fR \
         names another. The packages install it, commented, with the defaults above and \
         \\fBdata_dir = \\(dq/var/lib/passlink\\(dq\\fR.\n\
         .TP\n\
         .I /etc/passlink/templates/\n\
         Mail templates (\\fBreset.txt\\fR, \\fBreset.html\\fR, \\fBreset.de.txt\\fR, ...); \
         see \\fBtemplates_dir\\fR.\n\
         .TP\n\
         .I /var/lib/passlink/\n\
         The packaged data directory (\\fBdata_dir\\fR): the database, the mail spool and \
         the lock file.\n\
         .SH SEE ALSO\n\
         \\fBpasslink\\fR(8), \\fBsystemd.exec\\fR(5), \\fBsystemd.service\\fR(5), \
         https://toml.io/\n",
    );
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// passlink(8)

/// Help text from clap as a sentence: the derive drops the full stop of a one-line doc comment.
fn sentence(text: &str) -> String {
    let text = text.trim();
    if text.is_empty() || text.ends_with(['.', '!', '?', ':']) {
        text.to_string()
    } else {
        format!("{text}.")
    }
}

fn about(command: &Command) -> String {
    command
        .get_long_about()
        .or(command.get_about())
        .map(|s| sentence(&s.to_string()))
        .unwrap_or_default()
}

fn help(arg: &Arg) -> String {
    arg.get_long_help()
        .or(arg.get_help())
        .map(|s| sentence(&s.to_string()))
        .unwrap_or_default()
}

/// Running text that may hold paragraphs (clap keeps a doc comment's empty lines).
fn paragraphs(text: &str) -> String {
    text.split("\n\n")
        .map(|p| {
            p.lines()
                .map(|l| line(&prose(l.trim())))
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join(".PP\n")
}

fn value_name(arg: &Arg) -> String {
    arg.get_value_names()
        .and_then(|names| names.first())
        .map(|n| n.to_string())
        .unwrap_or_else(|| arg.get_id().as_str().to_ascii_uppercase())
}

fn takes_value(arg: &Arg) -> bool {
    arg.get_action().takes_values()
}

/// `-c, --config PATH`, or `DOMAIN` for a positional argument: roff, with the parts that are
/// typed in bold and the placeholders in italics.
fn arg_form(arg: &Arg, short_too: bool) -> String {
    if arg.is_positional() {
        return format!("\\fI{}\\fR", code(&value_name(arg)));
    }
    let mut names = Vec::new();
    if let (true, Some(short)) = (short_too, arg.get_short()) {
        names.push(format!("\\fB\\-{}\\fR", code(&short.to_string())));
    }
    if let Some(long) = arg.get_long() {
        names.push(format!("\\fB\\-\\-{}\\fR", code(long)));
    }
    let mut form = names.join(", ");
    if takes_value(arg) {
        // An unbreakable space: a line break between an option and its value reads wrong.
        form.push_str(&format!("\\ \\fI{}\\fR", code(&value_name(arg))));
    }
    form
}

/// The arguments a command documents: clap's own `--help` (added at build time) aside.
fn documented_args(command: &Command) -> Vec<&Arg> {
    command
        .get_arguments()
        .filter(|a| !a.is_hide_set() && !matches!(a.get_id().as_str(), "help" | "version"))
        .collect()
}

/// The subcommands a command documents: clap's `help` (added at build time) aside.
fn documented_subcommands(command: &Command) -> Vec<&Command> {
    command
        .get_subcommands()
        .filter(|c| !c.is_hide_set() && c.get_name() != "help")
        .collect()
}

fn synopsis(path: &str, command: &Command) -> String {
    let mut out = format!("\\fB{}\\fR", code(path));
    let args = documented_args(command);
    // Options first, then the positional arguments, as clap's usage line has them.
    let (positional, options): (Vec<&Arg>, Vec<&Arg>) =
        args.into_iter().partition(|a| a.is_positional());
    for arg in options.into_iter().chain(positional) {
        let form = arg_form(arg, false);
        let repeated = matches!(arg.get_action(), ArgAction::Append | ArgAction::Count);
        let form = if repeated { format!("{form}...") } else { form };
        if arg.is_required_set() {
            out.push_str(&format!(" {form}"));
        } else {
            out.push_str(&format!(" [{form}]"));
        }
    }
    out
}

fn options_list(args: &[&Arg]) -> String {
    let mut out = String::new();
    for arg in args {
        out.push_str(&format!(".TP\n{}\n", arg_form(arg, true)));
        let mut text = help(arg);
        let defaults: Vec<String> = arg
            .get_default_values()
            .iter()
            .map(|v| v.to_string_lossy().into_owned())
            .filter(|v| !v.is_empty())
            .collect();
        if !defaults.is_empty() {
            text.push_str(&format!(" Default: `{}`.", defaults.join(", ")));
        }
        let possible: Vec<String> = arg
            .get_possible_values()
            .iter()
            .filter(|v| !v.is_hide_set())
            .map(|v| format!("`{}`", v.get_name()))
            .collect();
        if !possible.is_empty() && takes_value(arg) {
            text.push_str(&format!(" One of {}.", possible.join(", ")));
        }
        if let Some(env) = arg.get_env() {
            text.push_str(&format!(
                " The environment variable `{}` gives it too.",
                env.to_string_lossy()
            ));
        }
        out.push_str(&paragraphs(text.trim()));
    }
    out
}

/// Every command below `command`, depth first: a heading with its full name, its synopsis
/// (commands that run something), its description and its arguments.
fn commands_section(path: &str, command: &Command, out: &mut String) {
    for sub in documented_subcommands(command) {
        let sub_path = format!("{path} {}", sub.get_name());
        out.push_str(&format!(".SS \"{}\"\n", code(&sub_path)));
        let children = documented_subcommands(sub);
        // The heading is the synopsis of a command without arguments.
        if children.is_empty() && !documented_args(sub).is_empty() {
            out.push_str(&format!("{}\n.PP\n", synopsis(&sub_path, sub)));
        }
        out.push_str(&paragraphs(&about(sub)));
        if !children.is_empty() {
            let names: Vec<String> = children
                .iter()
                .map(|c| format!("\\fB{}\\fR", code(c.get_name())))
                .collect();
            out.push_str(&format!("Its commands: {}.\n", names.join(", ")));
        }
        let args = documented_args(sub);
        if !args.is_empty() {
            out.push_str(&options_list(&args));
        }
        commands_section(&sub_path, sub, out);
    }
}

/// passlink(8): every command and option from the clap definition, so that the page cannot
/// drift from the program, and what an operator needs around them.
pub fn command_page(cli: &Command) -> String {
    let name = cli.get_name();
    let version = cli.get_version().unwrap_or_default();
    let summary = cli.get_about().map(|s| s.to_string()).unwrap_or_default();
    let mut summary_chars = summary.chars();
    let summary = match summary_chars.next() {
        Some(first) => first.to_lowercase().chain(summary_chars).collect(),
        None => String::new(),
    };
    let mut out = format!(
        ".TH {} 8 \"\" \"{name} {version}\" \"System Administration\"\n\
         .\\\" Options, identifiers and paths must not be hyphenated (HY: groff's .EE turns\n\
         .\\\" hyphenation back on to that), and ragged right keeps them from being spread apart.\n\
         .nr HY 0\n\
         .nh\n\
         .ad l\n\
         .SH NAME\n{name} \\- {}\n\
         .SH SYNOPSIS\n",
        name.to_ascii_uppercase(),
        prose(&summary)
    );
    let global: Vec<&Arg> = documented_args(cli);
    let global_forms: String = global
        .iter()
        .map(|a| format!(" [{}]", arg_form(a, false)))
        .collect();
    out.push_str(&format!(
        "\\fB{name}\\fR{global_forms} \\fIcommand\\fR [\\fIargument\\fR...]\n\
         .br\n\
         \\fB{name}\\fR [\\fIcommand\\fR...] \\fB\\-\\-help\\fR\n\
         .br\n\
         \\fB{name} \\-\\-version\\fR\n\
         .SH DESCRIPTION\n"
    ));
    out.push_str(&paragraphs(&about(cli)));
    out.push_str(
        ".PP\n\
         \\fBpasslink serve\\fR is the server, run by the packaged systemd unit \
         \\fBpasslink.service\\fR as the user \\fBpasslink\\fR. The other commands manage \
         its database beside the running server. Run them as the owner of the data directory \
         (\\fBsudo \\-u passlink passlink\\fR ...): run as root, a command that could leave \
         root\\-owned files behind is refused (exit status 77).\n\
         .SH OPTIONS\n\
         These come before or after the command.\n",
    );
    out.push_str(&options_list(&global));
    out.push_str(
        ".TP\n\\fB\\-h\\fR, \\fB\\-\\-help\\fR\n\
         Print help, of the command named before it if any (\\fB\\-h\\fR: a summary).\n\
         .TP\n\\fB\\-V\\fR, \\fB\\-\\-version\\fR\n\
         Print the version.\n\
         .SH COMMANDS\n",
    );
    commands_section(name, cli, &mut out);
    out.push_str(STATIC_SECTIONS);
    out
}

/// What the clap definition cannot say.
const STATIC_SECTIONS: &str = r#".SH DOMAIN IMPORT FORMAT
\fBpasslink domain import\fR \fIFILE\fR reads CSV as RFC 4180 describes it: fields separated
by commas, records by LF or CRLF; a field in double quotes may hold commas, line breaks and
doubled double quotes (\fB""\fR for one). Spaces around a field are ignored, and so are
empty lines. The file must be UTF\-8; a byte\-order mark at its start (as Excel and
LibreOffice write "CSV UTF\-8") is skipped.
.PP
The first record is the header: it names the columns, in any order and any case, with
surrounding spaces ignored. A column that is not one of these is an error:
.TP
.B domain
Required. The domain name.
.TP
.B reseller
Required. An existing reseller (\fBpasslink reseller add\fR).
.TP
.B profile
Required. The owner's profile (management login) username: 1 to 64 letters, digits,
\fB\-\fR, \fB_\fR or \fB.\fR. A profile that does not exist yet is created; later rows
may add more domains to it.
.TP
.BR owner_email ", " admin_email
Required. The owner and admin contacts' email addresses; each must contain \fB@\fR.
.TP
.B password
The new profile's password, within \fBpassword_min_length\fR and
\fBpassword_max_length\fR of \fB[xcp]\fR and the OpenSRS character set. Ignored for a
profile that exists already. Empty or missing: one is generated and written, with the
profile's name, to the file that \fB\-\-passwords\-file\fR \fIPATH\fR names (a new file, mode
0600, \fBprofile,password\fR lines); without that option such a row is an error. Generated
passwords never go to the terminal.
.TP
.BR owner_first_name ", " owner_last_name ", " admin_first_name ", " admin_last_name
The contacts' names.
.TP
.BR org_name ", " phone
The organisation and phone number, for every contact of the domain.
.TP
.BR billing_email ", " tech_email
The billing and tech contacts' addresses. When one is empty, that contact is the admin
contact.
.TP
.B expiredate
When the registration expires, \fIYYYY\-MM\-DD\fR or \fIYYYY\-MM\-DD HH:MM:SS\fR (UTC):
what XCP \fBset cookie\fR and \fBget domain\fR answer as \fBexpiredate\fR. Empty:
unknown.
.PP
Every record must have as many fields as the header. The import is one transaction: all
rows are added, or none. Every row in error is reported, each with its file and line, in
one pass. \fB\-\-dry\-run\fR checks every row the same way and keeps nothing.
For example:
.PP
.EX
domain,reseller,profile,owner_email,admin_email,password
example.com,acme,jdoe,jane@example.com,hostmaster@example.com,Secret\-pass1
example.net,acme,jdoe,jane@example.com,hostmaster@example.com,
\(dqexample.org\(dq,acme,rroe,\(dqroe@example.org\(dq,hostmaster@example.com,
.EE
.PP
adds two domains under the new profile \fBjdoe\fR (whose password is the first row's) and
one under \fBrroe\fR, whose password is generated (this needs \fB\-\-passwords\-file\fR).
.SH FILES
.TP
.I /etc/passlink/passlink.toml
The configuration, read when neither \fB\-\-config\fR nor \fBPASSLINK_CONFIG\fR names
another file; without it, the built\-in defaults apply. See \fBpasslink.toml\fR(5).
.TP
.I /etc/passlink/templates/
Mail templates (\fBtemplates_dir\fR): \fBreset.txt\fR and optionally \fBreset.html\fR in
the default language, \fBreset.de.txt\fR and so on for one language; likewise
\fBchanged.*\fR and \fBmoved.*\fR.
.TP
.I /var/lib/passlink/
The packaged data directory (\fBdata_dir\fR; \fI./passlink\-data/\fR without a
configuration file), mode 0700, owned by the user \fBpasslink\fR. It holds:
.RS
.TP
.I passlink.sqlite3
The database, with its \fI\-wal\fR and \fI\-shm\fR files while in use. Copy it with
\fBpasslink db backup\fR, never with \fBcp\fR(1) while the server runs.
.TP
.I passlink.lock
Locked by \fBpasslink serve\fR while it runs, so that one server at a time uses the
directory.
.TP
.I spool/
Mail written as \fI.eml\fR files when \fB[smtp]\fR has no \fBhost\fR.
.RE
.TP
.I /usr/lib/systemd/system/passlink.service
The systemd unit. \fBsystemctl reload passlink\fR sends SIGHUP; \fBsystemctl edit
passlink\fR adds local settings.
.SH ENVIRONMENT
.TP
.B PASSLINK_CONFIG
The configuration file, when \fB\-\-config\fR is not given.
.TP
.B PASSLINK_LOG
The log level (\fBerror\fR, \fBwarn\fR, \fBinfo\fR, \fBdebug\fR or \fBtrace\fR),
overriding \fB[log]\fR \fBlevel\fR. An unknown value is ignored.
.TP
.B JOURNAL_STREAM
Set by systemd when standard error goes to the journal. Then each log line carries a
syslog priority prefix and no time stamp, since the journal records both.
.TP
.B NOTIFY_SOCKET
Set by systemd for a \fBType=notify\fR service: \fBpasslink serve\fR reports there when it
is ready, reloading and stopping.
.SH EXIT STATUS
.TP
.B 0
Success.
.TP
.B 1
Failure: the command could not do what was asked (a database, file or network error, a
name that does not exist, a value that is not valid), or \fBserve\fR stopped on a second
stop signal. The message on standard error says which.
.TP
.B 2
Usage error: an unknown command or option, or a missing argument.
.TP
.B 77
Refused: run as root on a data directory that belongs to another user (the service's),
where the command would leave files that user cannot open. The message gives the command
to run instead, \fBsudo \-u passlink passlink\fR ....
.TP
.B 78
Configuration error: the file, line, column and key are named. The packaged unit does not
restart the service on this status (\fBRestartPreventExitStatus=78\fR).
.SH SIGNALS
\fBpasslink serve\fR handles:
.TP
.BR SIGTERM ", " SIGINT
Stop: accept no new connections, finish the requests in flight, waiting at most
\fBshutdown_grace_secs\fR, then exit with status 0. A second SIGTERM or SIGINT exits at
once, with status 1.
.TP
.B SIGHUP
Reload (\fBsystemctl reload passlink\fR): re\-read every TLS certificate and key, the
configuration file and the mail templates. The log level, limits and timeouts, the
\fB[xmlstorage]\fR, \fB[xcp]\fR, \fB[reset]\fR and \fB[smtp]\fR settings and \fB[audit]\fR
\fBkeep_days\fR apply at once;
listen addresses, \fBworkers\fR, \fBqueue_depth\fR, \fB[storage]\fR and the public URLs
need a restart, and the log names those that changed. A file that fails to load keeps what
is in use, and the log says why.
.SH EXAMPLES
Check the configuration, as the service will load it, before a restart:
.PP
.EX
passlink check\-config \-\-config /etc/passlink/passlink.toml
.EE
.PP
Add an OpenSRS reseller that may connect only from one network; the private key it prints
is shown this once:
.PP
.EX
sudo \-u passlink passlink reseller add acme \-\-allow\-ip 192.0.2.0/24
.EE
.PP
Brand that reseller's reset mails and pages for its customers: its name, where to ask, its
colour, German for customers who chose no language, and its own German reset mail (checked
like the files in \fBtemplates_dir\fR):
.PP
.EX
sudo \-u passlink passlink reseller brand acme \-\-display\-name "Acme Domains" \e
    \-\-support help@acme.example \-\-accent \(aq#0b5394\(aq \-\-language de \e
    \-\-template reset.de.txt=/etc/passlink/acme/reset.de.txt
.EE
.PP
Check a CSV file of domains (see \fBDOMAIN IMPORT FORMAT\fR) that the user
\fBpasslink\fR can read, then import it, the generated passwords going to a new file:
.PP
.EX
sudo \-u passlink passlink domain import \-\-dry\-run /var/lib/passlink/domains.csv
sudo \-u passlink passlink domain import /var/lib/passlink/domains.csv \e
    \-\-passwords\-file /var/lib/passlink/new\-passwords.csv
.EE
.PP
Copy the live database, safely while the server runs, into a directory (the copy is named
\fIpasslink\-YYYYMMDDTHHMMSSZ.sqlite3\fR):
.PP
.EX
sudo \-u passlink mkdir \-p /var/lib/passlink/backups
sudo \-u passlink passlink db backup /var/lib/passlink/backups/
.EE
.PP
Set a user's password from standard input (the first line), without it appearing in the
process list or the shell history:
.PP
.EX
sudo \-u passlink passlink user set\-password alice@example.org < new\-password.txt
.EE
.PP
Show the audit trail of one domain since the first of the month: failed logins, who asked for
reset links and where they were mailed, who used them, password changes, "this wasn't me"
and the operator's changes. An account matches when it contains the text, in any case:
.PP
.EX
sudo \-u passlink passlink audit \-\-account example.com \-\-since 2026\-12\-01
.EE
.PP
The failed logins of the last 24 hours, one JSON object per line, for a script. Each object
has the keys \fBid\fR, \fBtime\fR, \fBevent\fR, \fBoutcome\fR, \fBaccount\fR, \fBlogin\fR,
\fBclient\fR, \fBdetail\fR and \fBcount\fR; a failed\-login row sums the attempts of one
account from one address over a minute, and \fBcount\fR says how many:
.PP
.EX
sudo \-u passlink passlink audit \-\-event login_failed \-\-since 24h \-\-json
.EE
.SH SEE ALSO
\fBpasslink.toml\fR(5), \fBsystemctl\fR(1), \fBjournalctl\fR(1), \fBsystemd.service\fR(5),
\fBsystemd.exec\fR(5), \fBsqlite3\fR(1)
"#;
