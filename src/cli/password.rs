//! A new password for a command that sets one: asked twice without echo at a terminal (a
//! password on the screen or in the terminal's scrollback is one more copy of it), else the
//! first line of standard input, for scripts.

use std::io::{BufRead, IsTerminal};

use crate::serve::AppError;

/// Reads the new password for `whose` (named in the prompt).
pub fn read_new(whose: &str) -> Result<String, AppError> {
    if std::io::stdin().is_terminal() {
        return ask_twice(whose);
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|error| AppError::Io {
            what: "reading the new password from standard input".into(),
            error,
        })?;
    let password = line.trim_end_matches(['\r', '\n']);
    if password.is_empty() {
        return Err(AppError::Invalid(
            "standard input is empty, so there is no new password: give it on the first line \
             (printf '%s\\n' \"$PASSWORD\" | passlink ...), or run the command at a terminal \
             to be asked for it; nothing was changed"
                .into(),
        ));
    }
    Ok(password.to_string())
}

fn ask_twice(whose: &str) -> Result<String, AppError> {
    let ask = |prompt: &str| {
        rpassword::prompt_password(prompt).map_err(|error| AppError::Io {
            what: "reading the new password from the terminal".into(),
            error,
        })
    };
    let first = ask(&format!("New password for {whose}: "))?;
    if first.is_empty() {
        return Err(AppError::Invalid(
            "no password was typed; nothing was changed".into(),
        ));
    }
    let again = ask("The same password again: ")?;
    // Not a secret comparison against stored data: both values are the operator's own typing.
    if first != again {
        return Err(AppError::Invalid(
            "the two passwords differ; nothing was changed".into(),
        ));
    }
    Ok(first)
}
