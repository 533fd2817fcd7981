//! Bolt values, both ways: the parameters our statements take, the columns they answer, and users'
//! rows as JSON in the shapes the FalkorDB backend gives (nodes `{id, labels, properties}`,
//! relationships `{id, type, start, end, properties}`, paths `{nodes, relationships}`, lists and
//! maps recursively, temporal values as ISO 8601 text).

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime};
use neo4rs::{
    BoltDuration, BoltFloat, BoltInteger, BoltList, BoltMap, BoltNode, BoltNull, BoltPath, BoltString, BoltType,
    BoltUnboundedRelation, Row,
};
use serde_json::{Value, json};

use crate::ports::GraphRow;

/// A statement's parameters.
pub(super) type Params = Vec<(&'static str, BoltType)>;

pub(super) fn text_param(s: &str) -> BoltType {
    BoltType::String(BoltString::new(s))
}

pub(super) fn texts<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> BoltType {
    BoltType::List(BoltList { value: items.into_iter().map(|s| text_param(s.as_ref())).collect() })
}

pub(super) fn integer(n: usize) -> BoltType {
    BoltType::Integer(BoltInteger::new(i64::try_from(n).unwrap_or(i64::MAX)))
}

pub(super) fn float_param(x: f64) -> BoltType {
    BoltType::Float(BoltFloat::new(x))
}

pub(super) fn null() -> BoltType {
    BoltType::Null(BoltNull)
}

pub(super) fn optional_text(s: Option<&str>) -> BoltType {
    s.map_or_else(null, text_param)
}

pub(super) fn list(items: Vec<BoltType>) -> BoltType {
    BoltType::List(BoltList { value: items })
}

pub(super) fn map<const N: usize>(entries: [(&str, BoltType); N]) -> BoltType {
    let mut map = BoltMap::with_capacity(N);
    for (key, value) in entries {
        map.put(BoltString::new(key), value);
    }
    BoltType::Map(map)
}

/// The value of `name` in `row` (null when the row has no such column).
pub(super) fn column(row: &Row, name: &str) -> BoltType {
    row.get::<BoltType>(name).unwrap_or_else(|_| null())
}

pub(super) fn string(value: &BoltType) -> Option<String> {
    if let BoltType::String(s) = value { Some(s.value.clone()) } else { None }
}

/// The text in `name` (empty for null).
pub(super) fn text(row: &Row, name: &str) -> String {
    string(&column(row, name)).unwrap_or_default()
}

pub(super) fn strings(value: &BoltType) -> Vec<String> {
    if let BoltType::List(items) = value { items.value.iter().filter_map(string).collect() } else { Vec::new() }
}

/// An integer, also from a float (a server may answer `sum` as one).
pub(super) fn int(value: &BoltType) -> i64 {
    if let BoltType::Integer(n) = value {
        n.value
    } else if let BoltType::Float(x) = value {
        x.value as i64
    } else {
        0
    }
}

pub(super) fn count(value: &BoltType) -> u64 {
    u64::try_from(int(value)).unwrap_or(0)
}

pub(super) fn float(value: &BoltType) -> f64 {
    if let BoltType::Float(x) = value {
        x.value
    } else if let BoltType::Integer(n) = value {
        n.value as f64
    } else {
        0.0
    }
}

/// A list of numbers as a vector (empty for anything else).
pub(super) fn vector(value: &BoltType) -> Vec<f32> {
    if let BoltType::List(items) = value { items.value.iter().map(|x| float(x) as f32).collect() } else { Vec::new() }
}

/// A user's row as JSON, column by column.
pub(super) fn row_json(row: &Row) -> GraphRow {
    row.keys().into_iter().map(|key| (key.value.clone(), value_json(column(row, &key.value)))).collect()
}

/// A Bolt value as JSON.
pub(super) fn value_json(value: BoltType) -> Value {
    match value {
        BoltType::Null(_) => Value::Null,
        BoltType::Boolean(b) => Value::Bool(b.value),
        BoltType::Integer(n) => Value::from(n.value),
        BoltType::Float(x) => float_json(x.value),
        BoltType::String(s) => Value::String(s.value),
        BoltType::Bytes(bytes) => bytes.value.iter().map(|&b| Value::from(b)).collect(),
        BoltType::List(items) => items.value.into_iter().map(value_json).collect(),
        BoltType::Map(entries) => Value::Object(properties_json(entries)),
        BoltType::Node(node) => node_json(node),
        BoltType::Relation(rel) => json!({
            "id": rel.id.value,
            "type": rel.typ.value,
            "start": rel.start_node_id.value,
            "end": rel.end_node_id.value,
            "properties": properties_json(rel.properties),
        }),
        // Only inside paths, which give their ends; on its own its ends are unknown.
        BoltType::UnboundedRelation(rel) => relationship_json(rel, Value::Null, Value::Null),
        BoltType::Path(path) => path_json(path),
        BoltType::Point2D(p) => json!({"srid": p.sr_id.value, "x": p.x.value, "y": p.y.value}),
        BoltType::Point3D(p) => json!({"srid": p.sr_id.value, "x": p.x.value, "y": p.y.value, "z": p.z.value}),
        BoltType::Duration(d) => duration_json(d),
        BoltType::Date(d) => NaiveDate::try_from(&d).map_or(Value::Null, |d| Value::String(d.to_string())),
        BoltType::Time(t) => {
            let (time, offset): (NaiveTime, FixedOffset) = (&t).into();
            Value::String(format!("{}{offset}", time.format("%H:%M:%S%.f")))
        }
        BoltType::LocalTime(t) => Value::String(NaiveTime::from(&t).format("%H:%M:%S%.f").to_string()),
        BoltType::DateTime(t) => {
            DateTime::<FixedOffset>::try_from(&t).map_or(Value::Null, |t| Value::String(t.to_rfc3339()))
        }
        BoltType::LocalDateTime(t) => NaiveDateTime::try_from(&t)
            .map_or(Value::Null, |t| Value::String(t.format("%Y-%m-%dT%H:%M:%S%.f").to_string())),
        BoltType::DateTimeZoneId(t) => DateTime::<FixedOffset>::try_from(&t)
            .map_or(Value::Null, |time| Value::String(format!("{}[{}]", time.to_rfc3339(), t.tz_id()))),
    }
}

fn float_json(x: f64) -> Value {
    serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
}

fn properties_json(entries: BoltMap) -> serde_json::Map<String, Value> {
    entries.value.into_iter().map(|(key, value)| (key.value, value_json(value))).collect()
}

fn node_json(node: BoltNode) -> Value {
    let labels: Vec<Value> = node.labels.value.into_iter().map(value_json).collect();
    json!({"id": node.id.value, "labels": labels, "properties": properties_json(node.properties)})
}

fn relationship_json(rel: BoltUnboundedRelation, start: Value, end: Value) -> Value {
    json!({
        "id": rel.id.value,
        "type": rel.typ.value,
        "start": start,
        "end": end,
        "properties": properties_json(rel.properties),
    })
}

/// A path: its nodes in order, and its relationships in order with their real directions. Bolt
/// sends each node and relationship once, plus a walk through them: pairs of (relationship index,
/// 1-based and negative when walked against its direction; node index).
fn path_json(path: BoltPath) -> Value {
    let nodes: Vec<BoltNode> = path.nodes.value.into_iter().filter_map(as_node).collect();
    let rels: Vec<BoltUnboundedRelation> = path.rels.value.into_iter().filter_map(as_relationship).collect();
    let walk: Vec<i64> = path.indices.value.iter().map(int).collect();
    let id = |n: usize| nodes.get(n).map_or(Value::Null, |node| Value::from(node.id.value));
    let mut relationships = Vec::with_capacity(walk.len() / 2);
    let mut at = 0;
    for step in walk.chunks_exact(2) {
        let (rel, next) = (step[0], usize::try_from(step[1]).unwrap_or(usize::MAX));
        let Some(r) = usize::try_from(rel.unsigned_abs()).ok().and_then(|i| i.checked_sub(1)).and_then(|i| rels.get(i))
        else {
            break;
        };
        let (start, end) = if rel > 0 { (id(at), id(next)) } else { (id(next), id(at)) };
        relationships.push(relationship_json(r.clone(), start, end));
        at = next;
    }
    json!({"nodes": nodes.into_iter().map(node_json).collect::<Vec<_>>(), "relationships": relationships})
}

fn as_node(value: BoltType) -> Option<BoltNode> {
    if let BoltType::Node(node) = value { Some(node) } else { None }
}

fn as_relationship(value: BoltType) -> Option<BoltUnboundedRelation> {
    if let BoltType::UnboundedRelation(rel) = value {
        Some(rel)
    } else if let BoltType::Relation(rel) = value {
        Some(BoltUnboundedRelation::new(rel.id, rel.typ, rel.properties))
    } else {
        None
    }
}

/// ISO 8601 (`P1M2DT3.5S`); the crate hands out a duration's parts only through serde.
fn duration_json(duration: BoltDuration) -> Value {
    let mut holder = BoltMap::with_capacity(1);
    holder.put(BoltString::new("d"), BoltType::Duration(duration));
    let Ok((months, days, seconds, nanos)) = holder.get::<(i64, i64, i64, i64)>("d") else { return Value::Null };
    let mut iso = format!("P{months}M{days}DT{seconds}");
    if nanos != 0 {
        iso.push_str(format!(".{:09}", nanos.unsigned_abs()).trim_end_matches('0'));
    }
    iso.push('S');
    Value::String(iso)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: i64, key: &str) -> BoltType {
        let mut properties = BoltMap::new();
        properties.put(BoltString::new("key"), text_param(key));
        BoltType::Node(BoltNode::new(BoltInteger::new(id), BoltList { value: vec![text_param("Entity")] }, properties))
    }

    #[test]
    fn paths_keep_each_relationship_direction() {
        // (serde)<-[7]-(tokio)-[8]->(axum): the first relationship is walked backwards.
        let rel = |id: i64| {
            BoltType::UnboundedRelation(BoltUnboundedRelation::new(
                BoltInteger::new(id),
                BoltString::new("RELATED"),
                BoltMap::new(),
            ))
        };
        let indices = [-1, 1, 2, 2].map(|i| BoltType::Integer(BoltInteger::new(i)));
        let path = BoltPath {
            nodes: BoltList { value: vec![node(1, "serde"), node(2, "tokio"), node(3, "axum")] },
            rels: BoltList { value: vec![rel(7), rel(8)] },
            indices: BoltList { value: indices.to_vec() },
        };
        let rendered = value_json(BoltType::Path(path));
        let keys: Vec<&Value> = rendered["nodes"].as_array().unwrap().iter().map(|n| &n["properties"]["key"]).collect();
        assert_eq!(keys, [&json!("serde"), &json!("tokio"), &json!("axum")]);
        let ends: Vec<(i64, i64, i64)> = rendered["relationships"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["id"].as_i64().unwrap(), r["start"].as_i64().unwrap(), r["end"].as_i64().unwrap()))
            .collect();
        assert_eq!(ends, [(7, 2, 1), (8, 2, 3)]);
    }

    #[test]
    fn values_render_as_json() {
        let list = list(vec![BoltType::Integer(BoltInteger::new(1)), float_param(2.5), text_param("x"), null()]);
        assert_eq!(value_json(list), json!([1, 2.5, "x", null]));
        let map = map([("a", BoltType::Boolean(neo4rs::BoltBoolean::new(true))), ("b", node(4, "k"))]);
        assert_eq!(
            value_json(map),
            json!({"a": true, "b": {"id": 4, "labels": ["Entity"], "properties": {"key": "k"}}})
        );
        let date = BoltType::from(NaiveDate::from_ymd_opt(2024, 1, 2).unwrap());
        assert_eq!(value_json(date), json!("2024-01-02"));
        let local = BoltType::from(NaiveDate::from_ymd_opt(2024, 1, 2).unwrap().and_hms_opt(3, 4, 5).unwrap());
        assert_eq!(value_json(local), json!("2024-01-02T03:04:05"));
        let duration = BoltType::Duration(BoltDuration::new(
            BoltInteger::new(1),
            BoltInteger::new(2),
            BoltInteger::new(3),
            BoltInteger::new(500_000_000),
        ));
        assert_eq!(value_json(duration), json!("P1M2DT3.5S"));
        assert_eq!(float_json(f64::NAN), Value::Null);
    }
}
