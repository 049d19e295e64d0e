//! Settings that are valid but probably not what the operator meant. `check-config` prints them
//! and `serve` logs each at WARN when it starts, so a mistake that would only show as a user's
//! broken link shows on the operator's terminal first.

use super::{Config, Group, ListenAddress};

impl Config {
    /// One line per doubtful setting, each naming its key and what to do: what `check-config`
    /// prints.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.warn_spool(&mut out);
        out.extend(self.start_warnings());
        out
    }

    /// The warnings `serve` logs as it starts; it announces the spool in its own words.
    pub fn start_warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.warn_loopback_links(&mut out);
        self.warn_from(&mut out);
        out
    }

    /// A link derived from a loopback address only works on this machine: fine for a try-out,
    /// wrong as soon as anyone else is meant to reach passlink.
    fn warn_loopback_links(&self, out: &mut Vec<String>) {
        if self.server.public_url.is_some() {
            return;
        }
        let listeners = self.effective_listeners();
        let is_loopback =
            |a: &ListenAddress| matches!(a, ListenAddress::Tcp(addr) if addr.ip().is_loopback());
        let mut groups = vec![Group::Reset, Group::Xmlstorage];
        if self.server.files_url.is_none() {
            groups.push(Group::Files);
        }
        let Some(first) = groups
            .iter()
            .filter_map(|g| listeners.iter().find(|l| l.serves(*g)))
            .find(|l| is_loopback(&l.address))
        else {
            return;
        };
        let reachable = listeners.iter().find(|l| !is_loopback(&l.address));
        let reason = match (reachable, self.server.trusted_proxies.is_empty()) {
            (Some(other), _) => format!("although {} accepts other clients", other.address),
            (None, false) => {
                "although server.trusted_proxies is set, so clients come through a proxy".into()
            }
            (None, true) => return,
        };
        out.push(format!(
            "server.public_url is not set: links in reset mails and file URLs will start with \
             {}://{}, which works only on this machine, {reason}; set server.public_url to the \
             URL users open, such as \"https://passlink.example.org\"",
            first.scheme(),
            first.address
        ));
    }

    fn warn_spool(&self, out: &mut Vec<String>) {
        if self.smtp.enabled && self.smtp.host.is_none() {
            out.push(format!(
                "smtp.host is not set: reset mails are written to {} and not sent to anyone; \
                 set smtp.host (or smtp.enabled = false to turn \"mail my password\" off)",
                self.storage.data_dir.join("spool").display()
            ));
        }
    }

    fn warn_from(&self, out: &mut Vec<String>) {
        let Some(host) = self.smtp.host.as_ref().filter(|_| self.smtp.enabled) else {
            return;
        };
        let domain = self.smtp.from.rsplit('@').next().unwrap_or("");
        let domain = domain.trim_end_matches('>').trim();
        if domain.eq_ignore_ascii_case("localhost") || !domain.contains('.') {
            out.push(format!(
                "smtp.from is {:?}, an address at {domain:?}, while mail goes out through \
                 {host}: most receiving servers reject or bin mail from a domain that does not \
                 exist; set smtp.from to an address at your domain",
                self.smtp.from
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn warnings(text: &str) -> Vec<String> {
        Config::parse(text, Path::new("/etc/passlink/passlink.toml"))
            .unwrap()
            .warnings()
    }

    #[test]
    fn the_embedded_defaults_only_warn_about_the_spool() {
        let w = warnings("");
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].starts_with("smtp.host is not set"), "{w:?}");
        assert!(warnings("[smtp]\nenabled = false\n").is_empty());
    }

    #[test]
    fn a_loopback_link_warns_when_others_can_connect() {
        let quiet = "[smtp]\nenabled = false\n";
        let w = warnings(&format!(
            "{quiet}[[listener]]\naddress = \"127.0.0.1:5445\"\nserve = [\"reset\", \"files\", \"xmlstorage\"]\n\
             [[listener]]\naddress = \"0.0.0.0:55443\"\nserve = [\"xcp\"]\n"
        ));
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(
            w[0].contains("http://127.0.0.1:5445")
                && w[0].contains("0.0.0.0:55443 accepts other clients")
                && w[0].contains("set server.public_url"),
            "{w:?}"
        );
        let w = warnings(&format!(
            "{quiet}[server]\ntrusted_proxies = [\"127.0.0.1\"]\n"
        ));
        assert!(w[0].contains("through a proxy"), "{w:?}");
        assert!(warnings(quiet).is_empty());
        assert!(
            warnings(&format!(
                "{quiet}[server]\npublic_url = \"https://pl.example.org\"\ntrusted_proxies = [\"127.0.0.1\"]\n"
            ))
            .is_empty()
        );
    }

    #[test]
    fn a_from_address_at_localhost_warns_with_a_real_host() {
        let w = warnings("[smtp]\nhost = \"smtp.example.org\"\n");
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(
            w[0].contains("smtp.from") && w[0].contains("smtp.example.org"),
            "{w:?}"
        );
        let w =
            warnings("[smtp]\nhost = \"smtp.example.org\"\nfrom = \"Passlink <pl@example.org>\"\n");
        assert!(w.is_empty(), "{w:?}");
    }
}
