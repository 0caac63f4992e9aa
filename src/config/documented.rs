//! docs/configuration.md documents every key the code reads, and only those: the keys come
//! from serde itself (the field lists `Deserialize` hands its deserializer), the documented ones
//! from the tables of each `## `[section]`` of the page.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::fmt;
use std::rc::Rc;

use serde::de::value::StrDeserializer;
use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor};
use serde::forward_to_deserialize_any;

use super::Settings;

#[derive(Debug)]
struct Stop(String);

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Stop {}

impl de::Error for Stop {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Stop(msg.to_string())
    }
}

/// A deserializer that records the fields of the structs it is asked for (`path.field`), then
/// answers each of them with nothing (a section with no keys set: its defaults).
struct Recorder {
    path: String,
    depth: usize,
    keys: Rc<RefCell<Vec<String>>>,
}

impl<'de> de::Deserializer<'de> for Recorder {
    type Error = Stop;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Stop> {
        Err(Stop(format!(
            "`{}` is not a struct, option or list",
            self.path
        )))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Stop> {
        for field in fields {
            let key = if self.path.is_empty() {
                (*field).to_owned()
            } else {
                format!("{}.{field}", self.path)
            };
            self.keys.borrow_mut().push(key);
        }
        // The top level descends into each section; a section's own keys get their defaults.
        let descend = if self.depth == 0 { fields } else { &[] };
        visitor.visit_map(Fields {
            fields: descend.iter(),
            current: None,
            keys: Rc::clone(&self.keys),
        })
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Stop> {
        visitor.visit_none()
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Stop> {
        visitor.visit_seq(Empty)
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct newtype_struct tuple tuple_struct map enum identifier ignored_any
    }
}

struct Fields {
    fields: std::slice::Iter<'static, &'static str>,
    current: Option<&'static str>,
    keys: Rc<RefCell<Vec<String>>>,
}

impl<'de> MapAccess<'de> for Fields {
    type Error = Stop;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Stop> {
        let Some(field) = self.fields.next() else {
            return Ok(None);
        };
        self.current = Some(field);
        let name: StrDeserializer<'_, Stop> = field.into_deserializer();
        seed.deserialize(name).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Stop> {
        seed.deserialize(Recorder {
            path: self.current.unwrap_or_default().to_owned(),
            depth: 1,
            keys: Rc::clone(&self.keys),
        })
    }
}

struct Empty;

impl<'de> SeqAccess<'de> for Empty {
    type Error = Stop;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        _: T,
    ) -> Result<Option<T::Value>, Stop> {
        Ok(None)
    }
}

/// `section.key` for every key of every section, and the top-level keys alone.
fn code_keys() -> BTreeSet<String> {
    let keys = Rc::new(RefCell::new(Vec::new()));
    let recorder = Recorder {
        path: String::new(),
        depth: 0,
        keys: Rc::clone(&keys),
    };
    <Settings as serde::Deserialize>::deserialize(recorder).expect("the recorder walks Settings");
    let all: Vec<String> = keys.borrow().clone();
    // A section is a top-level key with keys under it; the rest are top-level keys themselves.
    all.iter()
        .filter(|k| k.contains('.') || !all.iter().any(|o| o.starts_with(&format!("{k}."))))
        .cloned()
        .collect()
}

/// The keys the page documents: `section.key` for each first-column `` `key` `` of a table
/// under `## `[section]``, and the top-level keys under `## Top level`. `[[tenants]]` and what
/// follows it are the tenant reference, checked by the tenant types' own tests.
fn documented_keys(page: &str) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    let mut section: Option<String> = None;
    for line in page.lines() {
        if let Some(heading) = line.strip_prefix("## ") {
            section = if heading.starts_with("Top level") {
                Some(String::new())
            } else {
                heading
                    .strip_prefix("`[")
                    .and_then(|rest| rest.split_once("]`"))
                    .filter(|(name, _)| !name.starts_with('['))
                    .map(|(name, _)| name.to_owned())
            };
            continue;
        }
        let Some(section) = &section else { continue };
        let Some(key) = line
            .strip_prefix("| `")
            .and_then(|rest| rest.split_once("` |"))
            .map(|(key, _)| key)
        else {
            continue;
        };
        keys.insert(if section.is_empty() {
            key.to_owned()
        } else {
            format!("{section}.{key}")
        });
    }
    keys
}

#[test]
fn configuration_md_documents_every_key_the_code_reads_and_no_other() {
    let page = include_str!("../../docs/configuration.md");
    let mut code = code_keys();
    assert!(code.contains("server.bind") && code.contains("cors.allowed_origins"));
    // The tenants are a list of tables, documented in their own part of the page.
    code.remove("tenants");
    let docs = documented_keys(page);
    let undocumented: Vec<&String> = code.difference(&docs).collect();
    let unknown: Vec<&String> = docs.difference(&code).collect();
    assert!(
        undocumented.is_empty(),
        "read by the code, missing from docs/configuration.md: {undocumented:?}"
    );
    assert!(
        unknown.is_empty(),
        "in docs/configuration.md, not read by the code: {unknown:?}"
    );
}
