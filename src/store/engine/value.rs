//! The values that pass between the store and either engine (integer, real,
//! text, blob, null) and the rows read back, with typed getters by index.

use std::error::Error;

use bytes::BytesMut;
use postgres::types::{FromSql, IsNull, ToSql, Type, to_sql_checked};

use super::EngineError;
use crate::store::StoreError;

/// One value, as `SQLite` stores them: `PostgreSQL`'s types are read into
/// these (booleans as 0 and 1, whole `numeric`s as integers) and written
/// from them into whatever type the server expects of a parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

impl Value {
    /// The kind of value, as an error names it.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Integer(_) => "integer",
            Value::Real(_) => "real",
            Value::Text(_) => "text",
            Value::Blob(_) => "blob",
        }
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Integer(v)
    }
}
impl From<i32> for Value {
    fn from(v: i32) -> Self {
        Value::Integer(v.into())
    }
}
impl From<u32> for Value {
    fn from(v: u32) -> Self {
        Value::Integer(v.into())
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Integer(v.into())
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Real(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_owned())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}
impl From<&[u8]> for Value {
    fn from(v: &[u8]) -> Self {
        Value::Blob(v.to_vec())
    }
}
impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Self {
        Value::Blob(v)
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// One row of a result, its columns in the statement's order.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    values: Vec<Value>,
}

impl Row {
    pub(super) fn new(values: Vec<Value>) -> Row {
        Row { values }
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Column `index` as it came.
    pub fn value(&self, index: usize) -> Result<&Value, StoreError> {
        self.values.get(index).ok_or_else(|| {
            EngineError::Column {
                index,
                expected: "a column",
                found: "none",
            }
            .into()
        })
    }

    pub fn values(&self) -> &[Value] {
        &self.values
    }

    /// Column `index` as a `T` (`Option<T>` for a column that may be null).
    pub fn get<T: FromValue>(&self, index: usize) -> Result<T, StoreError> {
        let value = self.value(index)?;
        T::from_value(value).ok_or_else(|| {
            EngineError::Column {
                index,
                expected: T::EXPECTED,
                found: value.kind(),
            }
            .into()
        })
    }

    /// A text column, borrowed (a walk reads thousands).
    pub fn text(&self, index: usize) -> Result<&str, StoreError> {
        match self.value(index)? {
            Value::Text(s) => Ok(s),
            other => Err(mismatch(index, "text", other)),
        }
    }

    /// A blob column, borrowed.
    pub fn blob(&self, index: usize) -> Result<&[u8], StoreError> {
        match self.value(index)? {
            Value::Blob(b) => Ok(b),
            other => Err(mismatch(index, "blob", other)),
        }
    }
}

fn mismatch(index: usize, expected: &'static str, found: &Value) -> StoreError {
    EngineError::Column {
        index,
        expected,
        found: found.kind(),
    }
    .into()
}

/// A Rust type a column is read as.
pub trait FromValue: Sized {
    /// What the column must hold, as an error says it.
    const EXPECTED: &'static str;
    fn from_value(value: &Value) -> Option<Self>;
}

impl FromValue for i64 {
    const EXPECTED: &'static str = "integer";
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Integer(v) => Some(*v),
            _ => None,
        }
    }
}
impl FromValue for i32 {
    const EXPECTED: &'static str = "integer (32 bits)";
    fn from_value(value: &Value) -> Option<Self> {
        i64::from_value(value).and_then(|v| i32::try_from(v).ok())
    }
}
impl FromValue for u32 {
    const EXPECTED: &'static str = "integer (0 to 2^32)";
    fn from_value(value: &Value) -> Option<Self> {
        i64::from_value(value).and_then(|v| u32::try_from(v).ok())
    }
}
impl FromValue for bool {
    const EXPECTED: &'static str = "0 or 1";
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Integer(0) => Some(false),
            Value::Integer(1) => Some(true),
            _ => None,
        }
    }
}
impl FromValue for f64 {
    const EXPECTED: &'static str = "real";
    #[allow(clippy::cast_precision_loss)] // SQLite reads an integer as a real the same way
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Real(v) => Some(*v),
            Value::Integer(v) => Some(*v as f64),
            _ => None,
        }
    }
}
impl FromValue for String {
    const EXPECTED: &'static str = "text";
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Text(s) => Some(s.clone()),
            _ => None,
        }
    }
}
impl FromValue for Vec<u8> {
    const EXPECTED: &'static str = "blob";
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Blob(b) => Some(b.clone()),
            _ => None,
        }
    }
}
impl<T: FromValue> FromValue for Option<T> {
    const EXPECTED: &'static str = T::EXPECTED;
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Null => Some(None),
            other => T::from_value(other).map(Some),
        }
    }
}

// SQLite: values pass as they are.

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(ToSqlOutput::Borrowed(match self {
            Value::Null => ValueRef::Null,
            Value::Integer(v) => ValueRef::Integer(*v),
            Value::Real(v) => ValueRef::Real(*v),
            Value::Text(s) => ValueRef::Text(s.as_bytes()),
            Value::Blob(b) => ValueRef::Blob(b),
        }))
    }
}

/// A value read by a `SQLite` connection directly (store code not yet ported).
impl From<rusqlite::types::Value> for Value {
    fn from(v: rusqlite::types::Value) -> Self {
        use rusqlite::types::Value as V;
        match v {
            V::Null => Value::Null,
            V::Integer(v) => Value::Integer(v),
            V::Real(v) => Value::Real(v),
            V::Text(s) => Value::Text(s),
            V::Blob(b) => Value::Blob(b),
        }
    }
}

impl Value {
    pub(super) fn from_sqlite(value: rusqlite::types::ValueRef<'_>) -> Value {
        use rusqlite::types::ValueRef;
        match value {
            ValueRef::Null => Value::Null,
            ValueRef::Integer(v) => Value::Integer(v),
            ValueRef::Real(v) => Value::Real(v),
            ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
            ValueRef::Blob(b) => Value::Blob(b.to_vec()),
        }
    }
}

// PostgreSQL: written as the type the server expects of each parameter,
// read from the types the schema uses.

type BoxError = Box<dyn Error + Sync + Send>;

fn is_text(ty: &Type) -> bool {
    [
        Type::TEXT,
        Type::VARCHAR,
        Type::BPCHAR,
        Type::NAME,
        Type::UNKNOWN,
    ]
    .contains(ty)
}

impl ToSql for Value {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        match self {
            Value::Null => return Ok(IsNull::Yes),
            Value::Integer(v) => match *ty {
                Type::INT8 => v.to_sql(ty, out)?,
                Type::INT4 => i32::try_from(*v)?.to_sql(ty, out)?,
                Type::INT2 => i16::try_from(*v)?.to_sql(ty, out)?,
                Type::BOOL if (0..=1).contains(v) => (*v == 1).to_sql(ty, out)?,
                #[allow(clippy::cast_precision_loss)] // as SQLite compares them
                Type::FLOAT8 => (*v as f64).to_sql(ty, out)?,
                // Compared with `sum()` of integers, say.
                Type::NUMERIC => {
                    out.extend_from_slice(&integer_numeric(*v));
                    IsNull::No
                }
                // SQLite's text affinity: an integer compared with text is text.
                _ if is_text(ty) => v.to_string().as_str().to_sql(&Type::TEXT, out)?,
                _ => return Err(wrong(self, ty)),
            },
            Value::Real(v) => match *ty {
                Type::FLOAT8 => v.to_sql(ty, out)?,
                _ => return Err(wrong(self, ty)),
            },
            Value::Text(s) if is_text(ty) => s.as_str().to_sql(&Type::TEXT, out)?,
            Value::Blob(b) if *ty == Type::BYTEA => b.as_slice().to_sql(ty, out)?,
            Value::Text(_) | Value::Blob(_) => return Err(wrong(self, ty)),
        };
        Ok(IsNull::No)
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

fn wrong(value: &Value, ty: &Type) -> BoxError {
    format!("a {} value cannot be a {ty} parameter", value.kind()).into()
}

impl<'a> FromSql<'a> for Value {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        Ok(match *ty {
            Type::INT8 => Value::Integer(i64::from_sql(ty, raw)?),
            Type::INT4 => Value::Integer(i32::from_sql(ty, raw)?.into()),
            Type::INT2 => Value::Integer(i16::from_sql(ty, raw)?.into()),
            Type::OID => Value::Integer(u32::from_sql(ty, raw)?.into()),
            Type::BOOL => Value::Integer(bool::from_sql(ty, raw)?.into()),
            Type::FLOAT8 => Value::Real(f64::from_sql(ty, raw)?),
            Type::FLOAT4 => Value::Real(f32::from_sql(ty, raw)?.into()),
            Type::NUMERIC => numeric(raw)?,
            Type::BYTEA => Value::Blob(raw.to_vec()),
            _ => Value::Text(<&str>::from_sql(&Type::TEXT, raw)?.to_owned()),
        })
    }

    fn from_sql_null(_: &Type) -> Result<Self, BoxError> {
        Ok(Value::Null)
    }

    fn accepts(ty: &Type) -> bool {
        [
            Type::INT8,
            Type::INT4,
            Type::INT2,
            Type::OID,
            Type::BOOL,
            Type::FLOAT8,
            Type::FLOAT4,
            Type::NUMERIC,
            Type::BYTEA,
        ]
        .contains(ty)
            || is_text(ty)
    }
}

/// An integer as a binary `numeric`: base-10000 digits, most significant
/// first, with no trailing zero digits.
fn integer_numeric(v: i64) -> Vec<u8> {
    let mut digits = Vec::new();
    let mut rest = v.unsigned_abs();
    while rest > 0 {
        digits.push(u16::try_from(rest % 10_000).unwrap_or_default());
        rest /= 10_000;
    }
    digits.reverse();
    let weight = digits.len().saturating_sub(1);
    while digits.last() == Some(&0) {
        digits.pop();
    }
    let mut out = Vec::with_capacity(8 + 2 * digits.len());
    for word in [
        u16::try_from(digits.len()).unwrap_or_default(),
        u16::try_from(weight).unwrap_or_default(),
        if v < 0 { 0x4000 } else { 0 },
        0,
    ]
    .into_iter()
    .chain(digits)
    {
        out.extend_from_slice(&word.to_be_bytes());
    }
    out
}

/// A `numeric` in its binary form (what `sum()` of integers gives): an
/// integer when it is whole and fits, else a real.
fn numeric(raw: &[u8]) -> Result<Value, BoxError> {
    let word = |at: usize| -> Result<u16, BoxError> {
        raw.get(at..at + 2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
            .ok_or_else(|| "a truncated numeric".into())
    };
    let ndigits = usize::from(word(0)?);
    let weight = i32::from(i16::from_be_bytes(word(2)?.to_be_bytes()));
    let sign = word(4)?;
    if sign == 0xC000 {
        return Err("NaN cannot be read as a number".into());
    }
    let negative = sign == 0x4000;
    let mut whole: Option<i128> = Some(0);
    let mut real = 0f64;
    for i in 0..ndigits {
        let digit = word(8 + 2 * i)?;
        let power = weight - i32::try_from(i)?;
        real += f64::from(digit) * 10_000f64.powi(power);
        whole = match (whole, u32::try_from(power)) {
            (Some(w), Ok(p)) => 10_000i128
                .checked_pow(p)
                .and_then(|m| m.checked_mul(i128::from(digit)))
                .and_then(|d| w.checked_add(d)),
            // A digit after the point that is not zero.
            _ if digit != 0 => None,
            (w, _) => w,
        };
    }
    let whole = whole.map(|w| if negative { -w } else { w });
    Ok(match whole.and_then(|w| i64::try_from(w).ok()) {
        Some(v) => Value::Integer(v),
        None => Value::Real(if negative { -real } else { real }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numeric_bytes(weight: i16, sign: u16, digits: &[u16]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend(u16::try_from(digits.len()).unwrap().to_be_bytes());
        out.extend(weight.to_be_bytes());
        out.extend(sign.to_be_bytes());
        out.extend(0u16.to_be_bytes());
        for d in digits {
            out.extend(d.to_be_bytes());
        }
        out
    }

    #[test]
    fn whole_numerics_read_as_integers() {
        assert_eq!(
            numeric(&numeric_bytes(0, 0, &[])).unwrap(),
            Value::Integer(0)
        );
        assert_eq!(
            numeric(&numeric_bytes(1, 0, &[12, 3456])).unwrap(),
            Value::Integer(123_456)
        );
        assert_eq!(
            numeric(&numeric_bytes(1, 0x4000, &[12])).unwrap(),
            Value::Integer(-120_000)
        );
        // i64::MAX = 922 3372 0368 5477 5807, and one more is a real.
        let max = [922, 3372, 368, 5477, 5807];
        assert_eq!(
            numeric(&numeric_bytes(4, 0, &max)).unwrap(),
            Value::Integer(i64::MAX)
        );
        let over = [922, 3372, 368, 5477, 5808];
        assert!(matches!(
            numeric(&numeric_bytes(4, 0, &over)).unwrap(),
            Value::Real(_)
        ));
    }

    #[test]
    fn integers_written_as_numerics_read_back_the_same() {
        for v in [
            0,
            1,
            -1,
            9_999,
            10_000,
            -10_000,
            123_456_789,
            100_000_000,
            i64::MAX,
            i64::MIN,
        ] {
            assert_eq!(
                numeric(&integer_numeric(v)).unwrap(),
                Value::Integer(v),
                "{v}"
            );
        }
        // No trailing zero digits: 10,000 is one digit of weight 1.
        assert_eq!(integer_numeric(10_000), numeric_bytes(1, 0, &[1]));
        assert_eq!(integer_numeric(0), numeric_bytes(0, 0, &[]));
    }

    #[test]
    fn fractions_read_as_reals_and_nan_is_refused() {
        assert_eq!(
            numeric(&numeric_bytes(0, 0, &[1, 5000])).unwrap(),
            Value::Real(1.5)
        );
        assert!(numeric(&numeric_bytes(0, 0xC000, &[])).is_err());
        assert!(numeric(&[0, 1]).is_err());
    }

    #[test]
    fn getters_say_what_they_wanted() {
        let row = Row::new(vec![
            Value::Integer(1),
            Value::Null,
            Value::Text("a".into()),
            Value::Integer(7),
        ]);
        assert!(row.get::<bool>(0).unwrap());
        assert_eq!(row.get::<Option<i64>>(1).unwrap(), None);
        assert_eq!(row.text(2).unwrap(), "a");
        let err = row.get::<bool>(3).unwrap_err().to_string();
        assert!(err.contains("column 3") && err.contains("0 or 1"), "{err}");
        let err = row.get::<i64>(2).unwrap_err().to_string();
        assert!(err.contains("holds text"), "{err}");
        assert!(row.get::<i64>(9).is_err());
        assert!(row.get::<i64>(1).is_err(), "null is not an integer");
    }
}
