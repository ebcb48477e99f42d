//! TEMPORARY: the pre-`params!` method contract, so that paper crates can move to
//! [`TypedMethod`](crate::TypedMethod) one at a time with the workspace building throughout.
//! Removed when the last crate is ported; nothing new may use it.

use std::sync::Arc;

use crate::method::{MetricSpec, Outcome, TrialContext, TrialRng};
use crate::param::{ParamDefault, Unset};
use crate::value::Value;
use crate::MethodError;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ParamKind {
    Int { min: i64, max: i64 },
    Float { min: f64, max: f64 },
    Bool,
    Choice(&'static [&'static str]),
    FloatList { min: f64, max: f64 },
    File,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fallback {
    Required,
    Int(i64),
    Float(f64),
    Bool(bool),
    Str(&'static str),
    List(&'static [f64]),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParamSpec {
    pub name: &'static str,
    pub kind: ParamKind,
    pub default: Fallback,
    pub doc: &'static str,
}

/// Read access by name, as the old contract had it.
pub struct Params<'a>(&'a crate::Params);

impl Params<'_> {
    fn get(&self, name: &str) -> &Value {
        self.0
            .recorded()
            .get(name)
            .unwrap_or_else(|| panic!("method read undeclared parameter `{name}`"))
    }
    pub fn int(&self, name: &str) -> i64 {
        match self.get(name) {
            Value::Int(i) => *i,
            other => panic!("parameter `{name}` is {}, not an integer", other.kind()),
        }
    }
    pub fn usize(&self, name: &str) -> usize {
        usize::try_from(self.int(name)).unwrap_or_else(|_| panic!("parameter `{name}` is negative"))
    }
    pub fn float(&self, name: &str) -> f64 {
        self.get(name)
            .as_f64()
            .unwrap_or_else(|| panic!("parameter `{name}` is not a number"))
    }
    pub fn bool(&self, name: &str) -> bool {
        matches!(self.get(name), Value::Bool(true))
    }
    pub fn str(&self, name: &str) -> &str {
        match self.get(name) {
            Value::Str(s) => s,
            other => panic!("parameter `{name}` is {}, not a string", other.kind()),
        }
    }
    pub fn list(&self, name: &str) -> &[f64] {
        match self.get(name) {
            Value::List(v) => v,
            other => panic!("parameter `{name}` is {}, not a list", other.kind()),
        }
    }
}

pub trait Method: Send + Sync {
    fn id(&self) -> &'static str;
    fn summary(&self) -> &'static str;
    fn params(&self) -> &'static [ParamSpec];
    fn metrics(&self) -> &'static [MetricSpec];
    fn curves(&self) -> &'static [MetricSpec] {
        &[]
    }
    fn check(&self, _params: &Params) -> Result<(), String> {
        Ok(())
    }
    fn run(&self, params: &Params, rng: &mut TrialRng) -> Result<Outcome, MethodError>;
}

/// An old-contract method as a [`crate::Method`].
pub struct Legacy {
    method: Arc<dyn Method>,
    params: Vec<crate::ParamSpec>,
}

impl Legacy {
    pub fn boxed(method: impl Method + 'static) -> Box<Legacy> {
        let params = method
            .params()
            .iter()
            .map(|p| {
                let kind = match p.kind {
                    ParamKind::Int { min, max } => crate::ParamKind::Int { min, max },
                    ParamKind::Float { min, max } => crate::ParamKind::Float { min, max },
                    ParamKind::Bool => crate::ParamKind::Bool,
                    ParamKind::Choice(c) => {
                        crate::ParamKind::Choice(c.iter().map(|s| s.to_string()).collect())
                    }
                    ParamKind::FloatList { min, max } => crate::ParamKind::FloatList { min, max },
                    ParamKind::File => crate::ParamKind::File,
                };
                let default = match (p.kind, p.default) {
                    (ParamKind::File, Fallback::Str("")) => ParamDefault::Unset(Unset {
                        word: None,
                        recorded: Some(Value::Str(String::new())),
                    }),
                    (_, Fallback::Required) => ParamDefault::Required,
                    (_, Fallback::Int(i)) => ParamDefault::Value(Value::Int(i)),
                    (_, Fallback::Float(x)) => ParamDefault::Value(Value::Float(x)),
                    (_, Fallback::Bool(b)) => ParamDefault::Value(Value::Bool(b)),
                    (_, Fallback::Str(s)) => ParamDefault::Value(Value::Str(s.into())),
                    (_, Fallback::List(v)) => ParamDefault::Value(Value::List(v.to_vec())),
                };
                crate::ParamSpec {
                    name: p.name.into(),
                    kind,
                    default,
                    doc: p.doc.into(),
                }
            })
            .collect();
        Box::new(Legacy {
            method: Arc::new(method),
            params,
        })
    }
}

impl crate::Method for Legacy {
    fn id(&self) -> &str {
        self.method.id()
    }
    fn summary(&self) -> &str {
        self.method.summary()
    }
    fn params(&self) -> &[crate::ParamSpec] {
        &self.params
    }
    fn metrics(&self) -> &[MetricSpec] {
        self.method.metrics()
    }
    fn curves(&self) -> &[MetricSpec] {
        self.method.curves()
    }
    fn check(&self, params: &crate::Params) -> Result<(), String> {
        self.method.check(&Params(params))
    }
    fn run_trial(
        &self,
        _trial: &TrialContext<'_>,
        params: &crate::Params,
        rng: &mut TrialRng,
    ) -> Result<Outcome, MethodError> {
        self.method.run(&Params(params), rng)
    }
}
