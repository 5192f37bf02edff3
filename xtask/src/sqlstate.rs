//! `cargo xtask gen-sqlstate [ERRCODES]`: the named SQLSTATE constants of
//! pgwire-proto, generated from PostgreSQL's `errcodes.txt`.
//!
//! The input is the copy checked in at `xtask/data/errcodes.txt`, so that
//! the output never depends on which server package a machine has; given a
//! path, the command first refreshes that copy from it (Debian ships the
//! file as `/usr/share/postgresql/<major>/errcodes.txt`). A test fails when
//! the checked-in output is not what the generator makes of the copy.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::path::Path;

use crate::error::{bail, Context, Result};
use crate::layout::Layout;
use crate::output::say;

/// The checked-in input, relative to the workspace root.
pub const ERRCODES: &str = "xtask/data/errcodes.txt";
/// The generated file, relative to the workspace root.
pub const OUTPUT: &str = "crates/pgwire-proto/src/sqlstate/codes.rs";

/// The command: refresh the input from `args[0]` if given, then write the
/// output (only when it changes).
pub fn gen_sqlstate(args: &[String]) -> Result<i32> {
    let layout = Layout::discover()?;
    let input = layout.workspace.join(ERRCODES);
    match args {
        [] => {}
        [from] => {
            std::fs::copy(from, &input)
                .with_context(|| format!("copying {from} to {}", input.display()))?;
            say!("copied {from} to {ERRCODES}");
        }
        _ => bail!("usage: cargo xtask gen-sqlstate [PATH/TO/errcodes.txt]"),
    }
    let text =
        std::fs::read_to_string(&input).with_context(|| format!("reading {}", input.display()))?;
    let generated = render(&text).with_context(|| format!("in {ERRCODES}"))?;
    let output = layout.workspace.join(OUTPUT);
    if std::fs::read_to_string(&output).ok().as_deref() == Some(generated.as_str()) {
        say!("{OUTPUT} is up to date");
    } else {
        write(&output, &generated)?;
        say!("wrote {OUTPUT}");
    }
    Ok(0)
}

fn write(path: &Path, text: &str) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// One code line of `errcodes.txt`.
#[derive(Debug)]
struct Line {
    /// The class heading (`Class 23 - Integrity Constraint Violation`) it
    /// comes under.
    section: String,
    code: String,
    /// `ERRCODE_...`, without the prefix.
    macro_name: String,
    /// The condition name; PostgreSQL leaves it out on a line that gives a
    /// code a second macro name.
    condition: Option<String>,
}

/// The Rust source for `errcodes` (the contents of `errcodes.txt`).
///
/// A code's constant is its condition name in upper case; when codes share
/// a condition name, each takes its macro name (those are unique). A line
/// without a condition name gives the code of another line a second name,
/// an alias.
pub fn render(errcodes: &str) -> Result<String> {
    let lines = parse(errcodes)?;
    let mut shared: HashMap<&str, usize> = HashMap::new();
    for condition in lines.iter().filter_map(|l| l.condition.as_deref()) {
        *shared.entry(condition).or_default() += 1;
    }
    let mut primary: BTreeMap<&str, String> = BTreeMap::new();
    let mut names = HashSet::new();
    let mut codes = String::new();
    let mut section = "";
    for line in &lines {
        let Some(condition) = line.condition.as_deref() else {
            continue;
        };
        let name = if shared.get(condition).copied().unwrap_or(0) > 1 {
            line.macro_name.clone()
        } else {
            condition.to_ascii_uppercase()
        };
        if line.section != section {
            section = &line.section;
            let _ = writeln!(codes, "        // {section}");
        }
        let _ = writeln!(
            codes,
            "        {name} = \"{}\", \"{condition}\";",
            line.code
        );
        if primary.insert(&line.code, name.clone()).is_some() {
            bail!("code {} has two condition names", line.code);
        }
        if !names.insert(name.clone()) {
            bail!("two codes are named {name}");
        }
    }
    let mut aliases = String::new();
    for line in lines.iter().filter(|l| l.condition.is_none()) {
        let Some(target) = primary.get(line.code.as_str()) else {
            bail!(
                "code {} (ERRCODE_{}) has no condition name",
                line.code,
                line.macro_name
            );
        };
        if !names.insert(line.macro_name.clone()) {
            bail!("two codes are named {}", line.macro_name);
        }
        let _ = writeln!(aliases, "        {} = {target};", line.macro_name);
    }
    for code in primary.keys() {
        let class = format!("{}000", code.get(..2).unwrap_or_default());
        if !primary.contains_key(class.as_str()) {
            bail!("code {code} is of class {class}, which has no code of its own");
        }
    }
    Ok(format!(
        "// Generated by `cargo xtask gen-sqlstate` from {ERRCODES}, PostgreSQL's\n\
         // list of error codes. Do not edit: change the generator or the list.\n\
         \n\
         sqlstates! {{\n    codes {{\n{codes}    }}\n    aliases {{\n{aliases}    }}\n}}\n"
    ))
}

fn parse(errcodes: &str) -> Result<Vec<Line>> {
    let mut section = None;
    let mut lines = Vec::new();
    for (number, text) in errcodes.lines().enumerate() {
        let text = text.trim();
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        if let Some(heading) = text.strip_prefix("Section:") {
            section = Some(heading.trim().to_owned());
            continue;
        }
        let at = || format!("line {}: {text:?}", number + 1);
        let fields: Vec<&str> = text.split_whitespace().collect();
        let (code, kind, macro_name, condition) = match fields.as_slice() {
            [code, kind, macro_name] => (*code, *kind, *macro_name, None),
            [code, kind, macro_name, condition] => (*code, *kind, *macro_name, Some(*condition)),
            _ => bail!("{}: expected 3 or 4 fields", at()),
        };
        let code_ok = code.len() == 5
            && code
                .bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase());
        if !code_ok {
            bail!("{}: a SQLSTATE is five digits or capital letters", at());
        }
        if !matches!(kind, "E" | "W" | "S") {
            bail!("{}: the second field is E, W or S", at());
        }
        let Some(macro_name) = macro_name.strip_prefix("ERRCODE_") else {
            bail!("{}: the macro name starts with ERRCODE_", at());
        };
        if !is_identifier(macro_name, |b| b.is_ascii_uppercase()) {
            bail!("{}: the macro name is not an identifier", at());
        }
        if let Some(condition) = condition {
            if !is_identifier(condition, |b| b.is_ascii_lowercase()) {
                bail!("{}: the condition name is not a lowercase identifier", at());
            }
        }
        let Some(section) = &section else {
            bail!("{}: a code before the first Section line", at());
        };
        lines.push(Line {
            section: section.clone(),
            code: code.to_owned(),
            macro_name: macro_name.to_owned(),
            condition: condition.map(str::to_owned),
        });
    }
    Ok(lines)
}

/// Letters of the given case, digits and underscores, starting with a letter.
fn is_identifier(name: &str, letter: impl Fn(u8) -> bool) -> bool {
    name.bytes().next().is_some_and(&letter)
        && name
            .bytes()
            .all(|b| letter(b) || b.is_ascii_digit() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workspace() -> std::path::PathBuf {
        let xtask = Path::new(env!("CARGO_MANIFEST_DIR"));
        xtask.parent().unwrap().to_path_buf()
    }

    #[test]
    fn the_checked_in_constants_are_what_the_generator_makes() {
        let input = std::fs::read_to_string(workspace().join(ERRCODES)).unwrap();
        let generated = render(&input).unwrap();
        let checked_in = std::fs::read_to_string(workspace().join(OUTPUT)).unwrap();
        assert!(
            checked_in == generated,
            "{OUTPUT} is stale: run `cargo xtask gen-sqlstate`"
        );
    }

    const SAMPLE: &str = "\
# a comment

Section: Class 22 - Data Exception
22000    E    ERRCODE_DATA_EXCEPTION                    data_exception
22001    E    ERRCODE_STRING_DATA_RIGHT_TRUNCATION      string_data_right_truncation
2202E    E    ERRCODE_ARRAY_ELEMENT_ERROR
2202E    E    ERRCODE_ARRAY_SUBSCRIPT_ERROR             array_subscript_error
Section: Class 01 - Warning
01000    W    ERRCODE_WARNING                           warning
01004    W    ERRCODE_WARNING_STRING_DATA_RIGHT_TRUNCATION string_data_right_truncation
";

    #[test]
    fn shared_condition_names_take_the_macro_names_and_extra_names_are_aliases() {
        assert_eq!(
            render(SAMPLE).unwrap(),
            "\
// Generated by `cargo xtask gen-sqlstate` from xtask/data/errcodes.txt, PostgreSQL's
// list of error codes. Do not edit: change the generator or the list.

sqlstates! {
    codes {
        // Class 22 - Data Exception
        DATA_EXCEPTION = \"22000\", \"data_exception\";
        STRING_DATA_RIGHT_TRUNCATION = \"22001\", \"string_data_right_truncation\";
        ARRAY_SUBSCRIPT_ERROR = \"2202E\", \"array_subscript_error\";
        // Class 01 - Warning
        WARNING = \"01000\", \"warning\";
        WARNING_STRING_DATA_RIGHT_TRUNCATION = \"01004\", \"string_data_right_truncation\";
    }
    aliases {
        ARRAY_ELEMENT_ERROR = ARRAY_SUBSCRIPT_ERROR;
    }
}
"
        );
    }

    #[test]
    fn malformed_lists_are_refused() {
        let refused = |text: &str, why: &str| {
            let err = render(&format!("Section: Class 42 - X\n{text}\n"))
                .unwrap_err()
                .to_string();
            assert!(err.contains(why), "{text:?}: {err}");
        };
        refused("42000 E ERRCODE_X x extra", "3 or 4 fields");
        refused("4200 E ERRCODE_X x", "five digits");
        refused("42000 Q ERRCODE_X x", "E, W or S");
        refused("42000 E X x", "ERRCODE_");
        refused(
            "42000 E ERRCODE_X Not-An-Identifier",
            "lowercase identifier",
        );
        refused(
            "42000 E ERRCODE_X x\n42000 E ERRCODE_Y y",
            "two condition names",
        );
        refused(
            "42000 E ERRCODE_X x\n42000 E ERRCODE_X",
            "two codes are named X",
        );
        refused(
            "42000 E ERRCODE_X x\n42001 E ERRCODE_Y",
            "no condition name",
        );
        refused("42001 E ERRCODE_Y y", "no code of its own");
        let err = render("42000 E ERRCODE_X x\n").unwrap_err().to_string();
        assert!(err.contains("before the first Section"), "{err}");
    }
}
