//! Parameter declarations (what a method accepts) and checked parameters (what a trial gets).
//!
//! A method declares its parameters once, with [`params!`](crate::params): one typed struct
//! field per parameter, with its bounds, default and doc. The macro generates the struct, its
//! [`ParamSpec`] table (validation, `subbench list`, error messages) and the conversion from
//! checked values. A spec's `params`/`sweep` values are the unchecked state;
//! [`Params::validate`] turns them into values of the declared kinds, inside the declared
//! ranges, once, before any trial runs — it is the only way to build [`Params`] — and the
//! method's `run` receives its typed struct, never a string-keyed map.
//!
//! Linfa's checked/unchecked split is the model: nothing downstream of validation can meet a
//! parameter of the wrong kind, a name that was not declared, or a choice without its arm.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::value::Value;

/// The type and domain of a parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamKind {
    /// An integer in `[min, max]`.
    Int {
        min: i64,
        max: i64,
    },
    /// A finite number in `[min, max]`.
    Float {
        min: f64,
        max: f64,
    },
    Bool,
    /// One of a fixed set of names.
    Choice(Vec<String>),
    /// A non-empty list of finite numbers, each in `[min, max]`.
    FloatList {
        min: f64,
        max: f64,
    },
    /// A non-empty list of integers, each in `[min, max]`. Recorded as a list of numbers (the
    /// store keeps one list type), read by the method as integers.
    IntList {
        min: i64,
        max: i64,
    },
    /// A path to an input file, relative to the folder subbench runs in (like `--out`). The spec
    /// loader checks that it is a readable regular file and records the blake3 of its bytes as
    /// the hidden parameter `<name>_blake3`, so that a trial's identity (and therefore its cache
    /// entry) changes when the file's content does.
    File,
}

/// What an optional parameter is when a spec does not set it.
#[derive(Debug, Clone, PartialEq)]
pub struct Unset {
    /// The word a spec may write for "unset" (e.g. `auto`), so that one sweep can hold both the
    /// unset case and set values; `None` when unset is written by leaving the parameter out.
    pub word: Option<&'static str>,
    /// How an unset value is recorded among the trial's parameters, and so in its identity and
    /// in the store: a value outside the parameter's domain, so that it can never be mistaken
    /// for a set one. The parameters that were sentinels before they were optional record that
    /// sentinel, which kept every trial identity (and with it every seed, cache entry and
    /// baseline) unchanged; `None` records nothing.
    pub recorded: Option<Value>,
}

/// The value a parameter takes when a spec does not set it.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamDefault {
    /// The spec must set it.
    Required,
    Value(Value),
    /// An optional parameter, unset unless the spec sets it.
    Unset(Unset),
}

/// One declared parameter of a method.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamSpec {
    pub name: String,
    pub kind: ParamKind,
    pub default: ParamDefault,
    /// One line for `subbench list`.
    pub doc: String,
}

impl ParamSpec {
    /// The default as a value, when there is one.
    pub fn default_value(&self) -> Option<Value> {
        match &self.default {
            ParamDefault::Value(v) => Some(v.clone()),
            ParamDefault::Required | ParamDefault::Unset(_) => None,
        }
    }

    /// The default as `subbench list` shows it.
    pub fn default_text(&self) -> String {
        match &self.default {
            ParamDefault::Required => "required".into(),
            ParamDefault::Value(Value::Str(s)) if s.is_empty() => "\"\"".into(),
            ParamDefault::Value(v) => v.to_string(),
            ParamDefault::Unset(Unset {
                word: Some(word), ..
            }) => word.to_string(),
            ParamDefault::Unset(_) => "unset".into(),
        }
    }

    /// Whether `value` is this optional parameter's word for "unset".
    fn is_unset_word(&self, value: &Value) -> bool {
        matches!(
            (&self.default, value),
            (ParamDefault::Unset(Unset { word: Some(w), .. }), Value::Str(s)) if s == w
        )
    }

    /// Convert `value` to this parameter's kind and check its range; the error says what is
    /// accepted. (An optional parameter's unset word is handled by [`Params::validate`].)
    pub fn check(&self, value: &Value) -> Result<Value, String> {
        let accepted = self.accepted();
        let wrong = || {
            format!(
                "`{}` must be {accepted}; got {} `{value}`",
                self.name,
                value.kind()
            )
        };
        let integral = |x: f64| x.fract() == 0.0 && x.abs() < 9.0e15;
        match (&self.kind, value) {
            (&ParamKind::Int { min, max }, _) => {
                let i = match *value {
                    Value::Int(i) => i,
                    // Generators such as linspace produce floats; an integral one is accepted.
                    Value::Float(x) if integral(x) => x as i64,
                    _ => return Err(wrong()),
                };
                if (min..=max).contains(&i) {
                    Ok(Value::Int(i))
                } else {
                    Err(wrong())
                }
            }
            (&ParamKind::Float { min, max }, _) => {
                let x = value.as_f64().ok_or_else(wrong)?;
                if x.is_finite() && x >= min && x <= max {
                    Ok(Value::Float(x))
                } else {
                    Err(wrong())
                }
            }
            (ParamKind::Bool, Value::Bool(b)) => Ok(Value::Bool(*b)),
            (ParamKind::Choice(names), Value::Str(s)) if names.contains(s) => {
                Ok(Value::Str(s.clone()))
            }
            (ParamKind::Choice(names), Value::Str(s)) => Err(format!(
                "{}{}",
                wrong(),
                crate::error::did_you_mean(s, names.iter().map(String::as_str))
            )),
            (ParamKind::File, Value::Str(s)) if !s.is_empty() => Ok(Value::Str(s.clone())),
            (&ParamKind::FloatList { min, max }, Value::List(v))
                if !v.is_empty() && v.iter().all(|x| x.is_finite() && *x >= min && *x <= max) =>
            {
                Ok(Value::List(v.clone()))
            }
            (&ParamKind::IntList { min, max }, Value::List(v))
                if !v.is_empty()
                    && v.iter()
                        .all(|&x| integral(x) && x >= min as f64 && x <= max as f64) =>
            {
                Ok(Value::List(v.clone()))
            }
            _ => Err(wrong()),
        }
    }

    /// What the parameter accepts, as a phrase.
    pub fn accepted(&self) -> String {
        let domain = match &self.kind {
            ParamKind::Int { min, max } => format!("an integer in [{min}, {}]", bound(*max as f64)),
            ParamKind::Float { min, max } => {
                format!(
                    "a {}number in [{}, {}]",
                    finite(*min, *max),
                    bound(*min),
                    bound(*max)
                )
            }
            ParamKind::Bool => "true or false".to_string(),
            ParamKind::Choice(names) => format!("one of {}", names.join(", ")),
            ParamKind::File => "a file path, relative to the folder subbench runs in".to_string(),
            ParamKind::FloatList { min, max } => format!(
                "a non-empty list of {}numbers in [{}, {}]",
                finite(*min, *max),
                bound(*min),
                bound(*max)
            ),
            ParamKind::IntList { min, max } => format!(
                "a non-empty list of integers in [{min}, {}]",
                bound(*max as f64)
            ),
        };
        match &self.default {
            ParamDefault::Unset(Unset {
                word: Some(word), ..
            }) => format!("{domain}, or `{word}`"),
            _ => domain,
        }
    }
}

/// `finite ` when a bound is infinite: the values themselves never are (±∞ is refused), which
/// `[-∞, ∞]` alone would not say.
fn finite(min: f64, max: f64) -> &'static str {
    if min.is_infinite() || max.is_infinite() || max >= i64::MAX as f64 {
        "finite "
    } else {
        ""
    }
}

fn bound(x: f64) -> String {
    if x >= i64::MAX as f64 || x == f64::INFINITY {
        "∞".into()
    } else if x == f64::NEG_INFINITY {
        "-∞".into()
    } else {
        format!("{x}")
    }
}

/// Why a set of values is not a valid set of parameters: the parameter it concerns (`None`:
/// the set as a whole) and a message saying what is accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamError {
    pub name: Option<String>,
    pub message: String,
}

/// Checked parameters of one trial: every declared parameter present, of its declared kind
/// (an unset optional one as its recorded value, or absent). Built only by [`Params::validate`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Params {
    values: BTreeMap<String, Value>,
    /// Optional parameters left unset (whether or not they record a value).
    unset: BTreeSet<String>,
    /// File parameters as the method must open them, when that differs from the path as
    /// written (a stored spec read from another folder: see [`Params::resolve_files`]). Not
    /// part of the identity, which keeps the path as written.
    resolved: BTreeMap<String, Value>,
}

impl Params {
    /// Check `values` (name → value as the spec wrote it) against the declarations `specs`:
    /// every name declared, every value of its kind and in its range, every required one given,
    /// defaults filled in. `file_hash` turns a file parameter's path into the blake3 of its
    /// bytes (recorded as `<name>_blake3`).
    pub fn validate<'v>(
        specs: &[ParamSpec],
        values: impl IntoIterator<Item = (&'v str, &'v Value)>,
        method: &str,
        mut file_hash: impl FnMut(&str) -> Result<String, String>,
    ) -> Result<Params, ParamError> {
        let mut params = Params::default();
        for (name, value) in values {
            let declared = specs.iter().find(|p| p.name == name).ok_or_else(|| {
                let names: Vec<&str> = specs.iter().map(|p| p.name.as_str()).collect();
                ParamError {
                    name: Some(name.to_string()),
                    message: format!(
                        "unknown parameter `{name}` for method {method}{}; accepted: {}",
                        crate::error::did_you_mean(name, names.iter().copied()),
                        if names.is_empty() {
                            "none".to_string()
                        } else {
                            names.join(", ")
                        }
                    ),
                }
            })?;
            let in_error = |message: String| ParamError {
                name: Some(name.to_string()),
                message,
            };
            if declared.is_unset_word(value) {
                params.insert_unset(declared);
                continue;
            }
            let value = declared.check(value).map_err(in_error)?;
            params.unset.remove(name);
            if declared.kind == ParamKind::File {
                let Value::Str(path) = &value else {
                    unreachable!("checked")
                };
                let hash = file_hash(path).map_err(in_error)?;
                params
                    .values
                    .insert(format!("{name}_blake3"), Value::Str(hash));
            }
            params.values.insert(name.to_string(), value);
        }
        for declared in specs {
            if params.values.contains_key(&declared.name) || params.unset.contains(&declared.name) {
                continue;
            }
            match &declared.default {
                ParamDefault::Value(v) => {
                    params.values.insert(declared.name.clone(), v.clone());
                }
                ParamDefault::Unset(_) => params.insert_unset(declared),
                ParamDefault::Required => {
                    return Err(ParamError {
                        name: None,
                        message: format!(
                            "method {method} needs parameter `{}` ({}): {}",
                            declared.name,
                            declared.accepted(),
                            declared.doc
                        ),
                    })
                }
            }
        }
        Ok(params)
    }

    /// Parameters taken as already checked, for this crate's unit tests.
    #[cfg(test)]
    pub(crate) fn checked_for_tests(values: BTreeMap<String, Value>) -> Params {
        Params {
            values,
            ..Params::default()
        }
    }

    fn insert_unset(&mut self, declared: &ParamSpec) {
        let ParamDefault::Unset(unset) = &declared.default else {
            unreachable!("only optional parameters are unset")
        };
        self.values.remove(&declared.name);
        self.values.remove(&format!("{}_blake3", declared.name));
        if let Some(recorded) = &unset.recorded {
            self.values.insert(declared.name.clone(), recorded.clone());
        }
        self.unset.insert(declared.name.clone());
    }

    /// Whether `name` is an optional parameter left unset (what a filter's `auto` selects).
    pub fn is_unset(&self, name: &str) -> bool {
        self.unset.contains(name)
    }

    /// The value of a parameter the spec set or that has a default; `None` for an unset optional
    /// parameter (even when it records a value) and for a name that was not declared. A file
    /// parameter is the path to open (see [`Params::resolve_files`]).
    pub fn get(&self, name: &str) -> Option<&Value> {
        if self.unset.contains(name) {
            None
        } else {
            self.resolved.get(name).or_else(|| self.values.get(name))
        }
    }

    /// Make the relative paths of the file parameters declared in `specs` relative to `folder`
    /// for the method (its `check` and `run` open them), keeping the path as written in the
    /// trial's identity: a stored spec's files are relative to the folder its run ran in, not
    /// to the folder `report` runs in.
    pub fn resolve_files(&mut self, specs: &[ParamSpec], folder: &std::path::Path) {
        for spec in specs.iter().filter(|s| s.kind == ParamKind::File) {
            if let Some(Value::Str(path)) = self.get(&spec.name) {
                if std::path::Path::new(path).is_relative() {
                    let full = folder.join(path).display().to_string();
                    self.resolved.insert(spec.name.clone(), Value::Str(full));
                }
            }
        }
    }

    /// Every recorded parameter (hidden file hashes and recorded unset values included), in
    /// name order: what identifies the trial and what the store keeps.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Value)> {
        self.values.iter()
    }

    /// The recorded parameters as a map (for the store).
    pub fn recorded(&self) -> &BTreeMap<String, Value> {
        &self.values
    }
}

impl fmt::Display for Params {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .values
            .iter()
            .filter(|(k, _)| !self.unset.contains(*k))
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        f.write_str(&parts.join(" "))
    }
}

/// A Rust type a parameter can have: how it is declared and how it is read from a checked value.
pub trait ParamType: Sized {
    /// Whether the parameter may be left unset (`Option<T>`).
    const OPTIONAL: bool = false;
    /// The kind of a parameter of this type with the declared bounds (`None`: the type's own).
    fn kind(bounds: Option<(f64, f64)>) -> ParamKind;
    /// The value read from a checked one (`None`: unset, only for optional types). A value
    /// that validation would not have produced is a bug in the harness: it panics.
    fn from_checked(value: Option<&Value>) -> Self;
    /// The value a default of this type stands for.
    fn to_value(&self) -> Value;
}

fn read_bug(what: &str, value: Option<&Value>) -> ! {
    panic!("checked parameter is not {what}: {value:?} (a bug in parameter validation)")
}

macro_rules! integer_param {
    ($($t:ty),*) => {$(
        impl ParamType for $t {
            fn kind(bounds: Option<(f64, f64)>) -> ParamKind {
                let (min, max) = bounds.unwrap_or((<$t>::MIN as f64, <$t>::MAX as f64));
                // Saturating: a bound of `usize::MAX` is `i64::MAX`.
                ParamKind::Int { min: (min as i64).max(<$t>::MIN as i64), max: max as i64 }
            }
            fn from_checked(value: Option<&Value>) -> Self {
                match value {
                    Some(Value::Int(i)) => <$t>::try_from(*i).unwrap_or_else(|_| read_bug(stringify!($t), value)),
                    _ => read_bug("an integer", value),
                }
            }
            fn to_value(&self) -> Value {
                Value::Int(i64::try_from(*self).expect("integer defaults fit in i64"))
            }
        }
    )*};
}
integer_param!(i64, u64, usize, u32);

impl ParamType for f64 {
    fn kind(bounds: Option<(f64, f64)>) -> ParamKind {
        let (min, max) = bounds.unwrap_or((f64::NEG_INFINITY, f64::INFINITY));
        ParamKind::Float { min, max }
    }
    fn from_checked(value: Option<&Value>) -> Self {
        value
            .and_then(Value::as_f64)
            .unwrap_or_else(|| read_bug("a number", value))
    }
    fn to_value(&self) -> Value {
        Value::Float(*self)
    }
}

impl ParamType for bool {
    fn kind(_: Option<(f64, f64)>) -> ParamKind {
        ParamKind::Bool
    }
    fn from_checked(value: Option<&Value>) -> Self {
        match value {
            Some(Value::Bool(b)) => *b,
            _ => read_bug("a boolean", value),
        }
    }
    fn to_value(&self) -> Value {
        Value::Bool(*self)
    }
}

impl ParamType for Vec<f64> {
    fn kind(bounds: Option<(f64, f64)>) -> ParamKind {
        let (min, max) = bounds.unwrap_or((f64::NEG_INFINITY, f64::INFINITY));
        ParamKind::FloatList { min, max }
    }
    fn from_checked(value: Option<&Value>) -> Self {
        match value {
            Some(Value::List(v)) => v.clone(),
            _ => read_bug("a list", value),
        }
    }
    fn to_value(&self) -> Value {
        Value::List(self.clone())
    }
}

impl ParamType for Vec<usize> {
    fn kind(bounds: Option<(f64, f64)>) -> ParamKind {
        let (min, max) = bounds.unwrap_or((0.0, i64::MAX as f64));
        ParamKind::IntList {
            min: (min as i64).max(0),
            max: max as i64,
        }
    }
    fn from_checked(value: Option<&Value>) -> Self {
        match value {
            Some(Value::List(v)) => v.iter().map(|&x| x as usize).collect(),
            _ => read_bug("a list", value),
        }
    }
    fn to_value(&self) -> Value {
        Value::List(self.iter().map(|&x| x as f64).collect())
    }
}

/// A path to an input file (see [`ParamKind::File`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputFile(pub std::path::PathBuf);

impl ParamType for InputFile {
    fn kind(_: Option<(f64, f64)>) -> ParamKind {
        ParamKind::File
    }
    fn from_checked(value: Option<&Value>) -> Self {
        match value {
            Some(Value::Str(s)) => InputFile(s.into()),
            _ => read_bug("a path", value),
        }
    }
    fn to_value(&self) -> Value {
        Value::Str(self.0.display().to_string())
    }
}

impl<T: ParamType> ParamType for Option<T> {
    const OPTIONAL: bool = true;
    fn kind(bounds: Option<(f64, f64)>) -> ParamKind {
        T::kind(bounds)
    }
    fn from_checked(value: Option<&Value>) -> Self {
        value.map(|v| T::from_checked(Some(v)))
    }
    fn to_value(&self) -> Value {
        self.as_ref()
            .map(T::to_value)
            .expect("an optional parameter's default is unset, not None")
    }
}

/// A method's parameters as one typed struct (generated by [`params!`](crate::params)).
pub trait ParamStruct: Sized + Send + Sync + 'static {
    /// The declarations, built once.
    fn specs() -> &'static [ParamSpec];
    /// The struct of a checked set of parameters.
    fn from_params(params: &Params) -> Self;
}

/// The default of a parameter of type `T`: the declared value, else unset (optional types,
/// with their unset word and recorded value), else required.
#[doc(hidden)]
pub fn default_of<T: ParamType>(
    value: Option<Value>,
    word: Option<&'static str>,
    recorded: Option<Value>,
) -> ParamDefault {
    match value {
        Some(v) => ParamDefault::Value(v),
        None if T::OPTIONAL => ParamDefault::Unset(Unset { word, recorded }),
        None => ParamDefault::Required,
    }
}

/// `Some(x)` for one expression, `None` for none (optional parts of [`params!`](crate::params)).
#[doc(hidden)]
#[macro_export]
macro_rules! __some {
    () => {
        None
    };
    ($e:expr) => {
        Some($e)
    };
}

/// Joins the lines of a doc comment into the one line `subbench list` shows.
#[doc(hidden)]
pub fn doc_line(lines: &[&str]) -> String {
    lines
        .iter()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Declare a method's parameters once: the struct, its [`ParamSpec`] table and its conversion
/// from checked values.
///
/// ```
/// harness::choice! {
///     /// How the matrix is built.
///     pub enum Model { Svd = "svd", Spiked = "spiked" }
/// }
/// harness::params! {
///     pub struct Demo {
///         /// Rows of X.
///         m: usize [2, 5000] = 100;
///         /// Where X comes from.
///         model: Model = Model::Svd;
///         /// Explicit singular values; unset: from `gap`.
///         sigma: Option<Vec<f64>> [0.0, 1e12];
///         /// The layer; `auto` picks it from the data.
///         layer: Option<usize> [0, 4095], unset "auto";
///     }
/// }
/// use harness::ParamStruct;
/// assert_eq!(Demo::specs().len(), 4);
/// ```
///
/// Each field is `/// doc` then `name: Type [lo, hi] = default;`, bounds and default optional:
/// a field without default is required, unless its type is `Option<_>` (then it is unset by
/// default). An optional field may add `, unset "word"` (the word a spec writes for unset, so a
/// sweep can mix it with values) and `, recorded <Value>` (what an unset value is recorded as,
/// see [`Unset::recorded`]).
#[macro_export]
macro_rules! params {
    (
        $(#[doc = $sdoc:literal])*
        $vis:vis struct $name:ident {
            $(
                $(#[doc = $doc:literal])*
                $field:ident : $ty:ty
                $([$lo:expr, $hi:expr])?
                $(= $default:expr)?
                $(, unset $word:literal)?
                $(, recorded $recorded:expr)?
                ;
            )*
        }
    ) => {
        $(#[doc = $sdoc])*
        #[derive(Debug, Clone, PartialEq)]
        $vis struct $name {
            $( $(#[doc = $doc])* pub $field: $ty, )*
        }

        impl $crate::param::ParamStruct for $name {
            fn specs() -> &'static [$crate::param::ParamSpec] {
                static SPECS: ::std::sync::OnceLock<Vec<$crate::param::ParamSpec>> =
                    ::std::sync::OnceLock::new();
                SPECS.get_or_init(|| {
                    vec![$({
                        let bounds: Option<(f64, f64)> =
                            $crate::__some!($( (($lo) as f64, ($hi) as f64) )?);
                        let default = $crate::param::default_of::<$ty>(
                            $crate::__some!($( $crate::param::ParamType::to_value(&{
                                let value: $ty = $default;
                                value
                            }) )?),
                            $crate::__some!($($word)?),
                            $crate::__some!($($recorded)?),
                        );
                        $crate::param::ParamSpec {
                            name: stringify!($field).to_string(),
                            kind: <$ty as $crate::param::ParamType>::kind(bounds),
                            default,
                            doc: $crate::param::doc_line(&[$($doc),*]),
                        }
                    }),*]
                })
            }

            fn from_params(params: &$crate::param::Params) -> Self {
                $name {
                    $( $field: <$ty as $crate::param::ParamType>::from_checked(
                        params.get(stringify!($field)),
                    ), )*
                }
            }
        }
    };
}

/// Declare a choice parameter's type: an enum whose variants are the names a spec writes, read
/// with an exhaustive `match` (a new choice without its arm does not compile).
///
/// ```
/// harness::choice! {
///     /// The profile of the other singular values.
///     pub enum Decay { Flat = "flat", Geometric = "geometric" }
/// }
/// assert_eq!(Decay::Flat.name(), "flat");
/// assert_eq!(Decay::NAMES, ["flat", "geometric"]);
/// ```
#[macro_export]
macro_rules! choice {
    (
        $(#[doc = $doc:literal])*
        $vis:vis enum $name:ident { $( $(#[doc = $vdoc:literal])* $variant:ident = $text:literal ),+ $(,)? }
    ) => {
        $(#[doc = $doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        $vis enum $name { $( $(#[doc = $vdoc])* $variant ),+ }

        impl $name {
            /// The names a spec writes, in declaration order.
            pub const NAMES: &'static [&'static str] = &[$($text),+];
            /// Every variant, in declaration order.
            #[allow(dead_code)]
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The name a spec writes for this choice.
            pub fn name(self) -> &'static str {
                match self { $( $name::$variant => $text ),+ }
            }

            /// The choice a spec's name stands for.
            pub fn from_name(name: &str) -> Option<Self> {
                match name { $( $text => Some($name::$variant), )+ _ => None }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.name())
            }
        }

        impl $crate::param::ParamType for $name {
            fn kind(_: Option<(f64, f64)>) -> $crate::param::ParamKind {
                $crate::param::ParamKind::Choice(Self::NAMES.iter().map(|s| s.to_string()).collect())
            }
            fn from_checked(value: Option<&$crate::Value>) -> Self {
                match value {
                    Some($crate::Value::Str(s)) => Self::from_name(s)
                        .unwrap_or_else(|| panic!("checked choice `{s}` is not a {}", stringify!($name))),
                    other => panic!("checked choice is not a name: {other:?}"),
                }
            }
            fn to_value(&self) -> $crate::Value {
                $crate::Value::Str(self.name().to_string())
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::choice! {
        /// Test choice.
        pub enum Mode { Optimal = "optimal", Random = "random" }
    }

    crate::params! {
        /// Test parameters.
        pub struct Demo {
            /// rank
            k: usize [1, 100] = 5;
            /// mode
            attack: Mode;
            /// explicit spectrum
            sigma: Option<Vec<f64>> [0.0, 1e12], recorded Value::List(vec![]);
            /// layer
            layer: Option<usize> [0, 4095], unset "auto", recorded Value::Int(-1);
            /// dimensions
            dims: Vec<usize> [1, 50] = vec![2, 3];
        }
    }

    fn validate(pairs: &[(&str, Value)]) -> Result<Params, ParamError> {
        Params::validate(
            Demo::specs(),
            pairs.iter().map(|(k, v)| (*k, v)),
            "test.demo",
            |_| Ok("hash".into()),
        )
    }

    fn spec(name: &str) -> &'static ParamSpec {
        Demo::specs().iter().find(|p| p.name == name).unwrap()
    }

    #[test]
    fn integers_accept_integral_floats_and_reject_the_rest() {
        let k = spec("k");
        assert_eq!(k.check(&Value::Float(7.0)), Ok(Value::Int(7)));
        let e = k.check(&Value::Float(7.5)).unwrap_err();
        assert_eq!(e, "`k` must be an integer in [1, 100]; got a number `7.5`");
        assert!(k.check(&Value::Int(0)).is_err());
    }

    #[test]
    fn choices_suggest_the_closest_name() {
        let e = spec("attack")
            .check(&Value::Str("optimall".into()))
            .unwrap_err();
        assert!(e.ends_with("(did you mean `optimal`?)"), "{e}");
    }

    #[test]
    fn the_struct_reads_every_declared_field_typed() {
        let p = validate(&[
            ("attack", Value::Str("random".into())),
            ("layer", Value::Int(7)),
            ("dims", Value::List(vec![4.0, 5.0])),
        ])
        .unwrap();
        let d = Demo::from_params(&p);
        assert_eq!(
            d,
            Demo {
                k: 5,
                attack: Mode::Random,
                sigma: None,
                layer: Some(7),
                dims: vec![4, 5]
            }
        );
    }

    #[test]
    fn unset_optionals_record_their_value_but_read_as_none() {
        let p = validate(&[
            ("attack", Value::Str("optimal".into())),
            ("layer", Value::Str("auto".into())),
        ])
        .unwrap();
        assert_eq!(p.recorded().get("layer"), Some(&Value::Int(-1)));
        assert_eq!(p.recorded().get("sigma"), Some(&Value::List(vec![])));
        let d = Demo::from_params(&p);
        assert_eq!((d.layer, d.sigma), (None, None));
        // The recorded value is outside the domain: a spec cannot write it.
        let e = validate(&[
            ("attack", Value::Str("optimal".into())),
            ("layer", Value::Int(-1)),
        ])
        .unwrap_err();
        assert_eq!(
            e.message,
            "`layer` must be an integer in [0, 4095], or `auto`; got an integer `-1`"
        );
        assert!(validate(&[
            ("attack", Value::Str("optimal".into())),
            ("sigma", Value::List(vec![]))
        ])
        .is_err());
    }

    #[test]
    fn required_unknown_and_integer_lists_are_checked() {
        let e = validate(&[]).unwrap_err();
        assert!(
            e.message
                .starts_with("method test.demo needs parameter `attack`"),
            "{e:?}"
        );
        let e = validate(&[
            ("attack", Value::Str("optimal".into())),
            ("rank", Value::Int(1)),
        ])
        .unwrap_err();
        assert_eq!(e.name.as_deref(), Some("rank"));
        assert!(e.message.starts_with("unknown parameter `rank`"), "{e:?}");
        let e = validate(&[
            ("attack", Value::Str("optimal".into())),
            ("dims", Value::List(vec![2.5])),
        ])
        .unwrap_err();
        assert!(
            e.message
                .contains("a non-empty list of integers in [1, 50]"),
            "{e:?}"
        );
    }

    #[test]
    fn declarations_carry_docs_defaults_and_kinds() {
        assert_eq!(Demo::specs().len(), 5);
        assert_eq!(spec("k").doc, "rank");
        assert_eq!(spec("k").default, ParamDefault::Value(Value::Int(5)));
        assert_eq!(spec("attack").default, ParamDefault::Required);
        assert_eq!(spec("layer").default_text(), "auto");
        assert_eq!(spec("dims").kind, ParamKind::IntList { min: 1, max: 50 });
    }
}
