//! Tool schemas in standard JSON Schema only: schemars writes `"format": "uint"`, `"int64"`,
//! `"double"` and the like for Rust number types, which are not JSON Schema 2020-12 formats and
//! make some clients warn or refuse the tool. The integer types' ranges stay expressed by
//! `minimum`/`maximum`, which are standard.

use std::sync::Arc;

use rmcp::model::JsonObject;
use serde_json::Value;

/// The formats JSON Schema 2020-12 defines (format-annotation vocabulary).
const STANDARD_FORMATS: &[&str] = &[
    "date-time",
    "date",
    "time",
    "duration",
    "email",
    "idn-email",
    "hostname",
    "idn-hostname",
    "ipv4",
    "ipv6",
    "uri",
    "uri-reference",
    "iri",
    "iri-reference",
    "uuid",
    "uri-template",
    "json-pointer",
    "relative-json-pointer",
    "regex",
];

/// `schema` without non-standard `format` keywords, anywhere inside it.
pub(super) fn standardized(schema: &Arc<JsonObject>) -> Arc<JsonObject> {
    let mut value = Value::Object((**schema).clone());
    strip_formats(&mut value);
    match value {
        Value::Object(object) => Arc::new(object),
        Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) | Value::Array(_) => Arc::clone(schema),
    }
}

fn strip_formats(value: &mut Value) {
    match value {
        Value::Object(map) => {
            let standard = map.get("format").and_then(Value::as_str).is_none_or(|f| STANDARD_FORMATS.contains(&f));
            if !standard {
                map.remove("format");
            }
            map.values_mut().for_each(strip_formats);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_formats),
        Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_formats_go_and_standard_ones_stay() {
        let schema: JsonObject = serde_json::from_value(serde_json::json!({
            "properties": {
                "n": {"type": "integer", "format": "uint", "minimum": 0},
                "x": {"type": ["number", "null"], "format": "double"},
                "at": {"type": "string", "format": "date-time"},
                "list": {"items": {"type": "integer", "format": "int64"}}
            }
        }))
        .unwrap();
        let text = serde_json::to_string(&*standardized(&Arc::new(schema))).unwrap();
        assert!(!text.contains("uint") && !text.contains("double") && !text.contains("int64"), "{text}");
        assert!(text.contains("date-time") && text.contains("\"minimum\":0"), "{text}");
    }
}
