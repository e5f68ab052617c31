//! Writes the Rust side of a service: typed shapes, the service trait, its dispatcher.

use crate::services::ServiceSpec;
use crate::shape::{OperationRef, ServiceModel, Shape, ShapeType};
use std::collections::{BTreeSet, HashSet};
use std::fmt::Write;

const KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern", "false", "fn",
    "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return", "self",
    "static", "struct", "super", "trait", "true", "type", "unsafe", "use", "where", "while", "abstract", "become",
    "box", "do", "final", "macro", "override", "priv", "typeof", "unsized", "virtual", "yield", "try",
];

pub fn snake(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() {
            let prev = i.checked_sub(1).map(|j| chars[j]);
            let next = chars.get(i + 1);
            let boundary = match prev {
                None => false,
                Some(p) if p.is_ascii_lowercase() || p.is_ascii_digit() => true,
                Some(p) if p.is_ascii_uppercase() => next.is_some_and(|n| n.is_ascii_lowercase()),
                _ => false,
            };
            if boundary && !out.ends_with('_') {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    if KEYWORDS.contains(&out.as_str()) {
        format!("r#{out}")
    } else if out.starts_with(|c: char| c.is_ascii_digit()) {
        format!("_{out}")
    } else {
        out
    }
}

fn type_name(shape: &str) -> String {
    let mut c = shape.chars();
    let first = c.next().unwrap().to_ascii_uppercase();
    let rest: String = c.filter(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
    format!("{first}{rest}")
}

struct Gen<'a> {
    model: &'a ServiceModel,
    structs: BTreeSet<String>,
}

impl<'a> Gen<'a> {
    fn shape(&self, name: &str) -> &'a Shape {
        self.model.shapes.get(name).unwrap_or_else(|| panic!("missing shape {name}"))
    }

    fn collect(&mut self, name: &str) {
        let shape = self.shape(name);
        match shape.kind {
            ShapeType::Structure if !shape.document => {
                if self.structs.insert(name.to_string()) {
                    for m in shape.members.values() {
                        self.collect(&m.shape);
                    }
                }
            }
            ShapeType::List => self.collect(&shape.member.as_ref().unwrap().shape),
            ShapeType::Map => self.collect(&shape.value.as_ref().unwrap().shape),
            _ => {}
        }
    }

    fn rust_type(&self, name: &str) -> String {
        let shape = self.shape(name);
        match shape.kind {
            ShapeType::Structure if shape.document => "::serde_json::Value".into(),
            ShapeType::Structure => type_name(name),
            ShapeType::List => format!("::std::vec::Vec<{}>", self.rust_type(&shape.member.as_ref().unwrap().shape)),
            ShapeType::Map => format!(
                "::std::collections::BTreeMap<::std::string::String, {}>",
                self.rust_type(&shape.value.as_ref().unwrap().shape)
            ),
            ShapeType::String | ShapeType::Character => "::std::string::String".into(),
            ShapeType::Integer => "i32".into(),
            ShapeType::Long | ShapeType::BigInteger => "i64".into(),
            ShapeType::Short => "i16".into(),
            ShapeType::Byte => "i8".into(),
            ShapeType::Float => "f32".into(),
            ShapeType::Double | ShapeType::BigDecimal => "f64".into(),
            ShapeType::Boolean => "bool".into(),
            ShapeType::Timestamp => "::nubo_core::Timestamp".into(),
            ShapeType::Blob if shape.streaming => "crate::ByteStream".into(),
            ShapeType::Blob => "::bytes::Bytes".into(),
        }
    }

    /// Whether structure `to` leads back to `from` through direct structure members: such a
    /// member needs a `Box` (lists and maps already sit behind a heap pointer).
    fn reaches(&self, to: &str, from: &str, seen: &mut HashSet<String>) -> bool {
        if to == from {
            return true;
        }
        if !seen.insert(to.to_string()) {
            return false;
        }
        let shape = self.shape(to);
        shape.kind == ShapeType::Structure
            && shape.members.values().any(|m| {
                self.shape(&m.shape).kind == ShapeType::Structure && self.reaches(&m.shape, from, seen)
            })
    }

    fn write_struct(&self, out: &mut String, name: &str) {
        let shape = self.shape(name);
        let ty = type_name(name);
        let fields: Vec<(String, &String, String, bool)> = shape
            .members
            .iter()
            .map(|(m, member)| {
                let mut t = if member.streaming { "crate::ByteStream".to_string() } else { self.rust_type(&member.shape) };
                if self.shape(&member.shape).kind == ShapeType::Structure
                    && self.reaches(&member.shape, name, &mut HashSet::new())
                {
                    t = format!("::std::boxed::Box<{t}>");
                }
                let required = shape.required.contains(m) && !shape.union;
                (snake(m), m, t, required)
            })
            .collect();
        writeln!(out, "/// The `{name}` shape.").unwrap();
        writeln!(out, "#[derive(Debug, Clone, Default, PartialEq)]").unwrap();
        writeln!(out, "pub struct {ty} {{").unwrap();
        for (f, _, t, req) in &fields {
            if *req {
                writeln!(out, "    pub {f}: {t},").unwrap();
            } else {
                writeln!(out, "    pub {f}: ::std::option::Option<{t}>,").unwrap();
            }
        }
        writeln!(out, "}}\n").unwrap();

        writeln!(out, "impl FromValue for {ty} {{").unwrap();
        writeln!(out, "    fn from_value(v: Value) -> ::std::result::Result<Self, ShapeError> {{").unwrap();
        if fields.is_empty() {
            writeln!(out, "        StructReader::new(v)?;\n        Ok({ty} {{}})").unwrap();
        } else {
            writeln!(out, "        let mut r = StructReader::new(v)?;\n        Ok({ty} {{").unwrap();
            for (f, m, _, req) in &fields {
                let how = if *req { "required" } else { "optional" };
                writeln!(out, "            {f}: r.{how}(\"{m}\")?,").unwrap();
            }
            writeln!(out, "        }})").unwrap();
        }
        writeln!(out, "    }}\n}}\n").unwrap();

        writeln!(out, "impl IntoValue for {ty} {{").unwrap();
        writeln!(out, "    fn into_value(self) -> Value {{").unwrap();
        writeln!(out, "        #[allow(unused_mut)]\n        let mut w = StructWriter::new();").unwrap();
        for (f, m, _, req) in &fields {
            let how = if *req { "member" } else { "optional" };
            writeln!(out, "        w.{how}(\"{m}\", self.{f});").unwrap();
        }
        writeln!(out, "        w.finish()\n    }}\n}}\n").unwrap();
    }
}

pub fn generate(spec: &ServiceSpec, model: &ServiceModel, version: &str) -> String {
    let mut g = Gen { model, structs: BTreeSet::new() };
    for op in spec.operations {
        let o = &model.operations[*op];
        for r in [&o.input, &o.output].into_iter().flatten() {
            g.collect(&r.shape);
        }
    }
    let mut out = String::new();
    writeln!(
        out,
        "//! Typed shapes and the service trait of `{}` (operations nubo implements).\n//!\n\
         //! Generated by `cargo xtask codegen` from botocore {version}'s model. Do not edit.\n",
        spec.name
    )
    .unwrap();
    out.push_str(
        "#![allow(clippy::all, non_camel_case_types)]\n\n\
         use crate::handler::{Handler, HandlerFuture, HttpFuture, HttpRequest};\n\
         use crate::value::{FromValue, IntoValue, ShapeError, StructReader, StructWriter, Value};\n\
         use nubo_core::{AwsError, RequestContext};\n\n",
    );
    for s in &g.structs {
        g.write_struct(&mut out, s);
    }

    let io = |r: &Option<OperationRef>| r.as_ref().map(|r| type_name(&r.shape)).unwrap_or("()".into());
    let t = spec.trait_name;
    writeln!(out, "/// The operations of `{}` that nubo implements; each defaults to `NotImplemented`.", spec.name).unwrap();
    writeln!(out, "pub trait {t}: Send + Sync + 'static {{").unwrap();
    for op in spec.operations {
        let o = &model.operations[*op];
        writeln!(
            out,
            "    fn {}(&self, ctx: &RequestContext, input: {}) -> impl ::std::future::Future<Output = ::std::result::Result<{}, AwsError>> + Send {{\n        \
             let _ = (ctx, input);\n        async {{ Err(AwsError::not_implemented(\"{}\", \"{op}\")) }}\n    }}\n",
            snake(op),
            io(&o.input),
            io(&o.output),
            spec.name
        )
        .unwrap();
    }
    writeln!(
        out,
        "    /// The AWS error for input that does not fit the operation's shapes.\n    \
         fn invalid_input(&self, e: ShapeError) -> AwsError {{\n        crate::handler::validation_error(e)\n    }}\n\n    \
         /// See [`Handler::http`].\n    \
         fn http<'a>(&'a self, req: &'a HttpRequest<'a>) -> ::std::option::Option<HttpFuture<'a>> {{\n        let _ = req;\n        None\n    }}\n\n    \
         /// See [`Handler::response_headers`].\n    \
         fn response_headers(&self, req: &HttpRequest<'_>) -> ::std::vec::Vec<(::std::string::String, ::std::string::String)> {{\n        let _ = req;\n        ::std::vec::Vec::new()\n    }}\n\n    \
         /// See [`Handler::access`].\n    \
         fn access(&self, ctx: &RequestContext, input: &Value) -> ::std::vec::Vec<crate::access::Access> {{\n        crate::access::derive(ctx, input)\n    }}\n\n    \
         /// See [`Handler::resource_policy`].\n    \
         fn resource_policy(&self, ctx: &RequestContext, arn: &str) -> ::std::option::Option<::std::string::String> {{\n        let _ = (ctx, arn);\n        None\n    }}\n\n    \
         /// See [`Handler::http_auth`].\n    \
         fn http_auth(&self, req: &HttpRequest<'_>) -> ::std::option::Option<crate::handler::HttpAuth> {{\n        let _ = req;\n        None\n    }}\n}}\n"
    )
    .unwrap();

    writeln!(out, "/// Makes any implementation of [`{t}`] a [`Handler`] the gateway can call.").unwrap();
    writeln!(out, "pub struct Service<S>(pub S);\n").unwrap();
    writeln!(out, "impl<S: {t}> Handler for Service<S> {{").unwrap();
    writeln!(out, "    fn service(&self) -> &'static str {{\n        \"{}\"\n    }}\n", spec.name).unwrap();
    writeln!(
        out,
        "    fn model(&self) -> &'static crate::ServiceModel {{\n        crate::model(\"{}\").expect(\"embedded model\")\n    }}\n",
        spec.name
    )
    .unwrap();
    let names: Vec<String> = spec.operations.iter().map(|o| format!("\"{o}\"")).collect();
    writeln!(
        out,
        "    fn implements(&self, operation: &str) -> bool {{\n        matches!(operation, {})\n    }}\n",
        names.join(" | ")
    )
    .unwrap();
    writeln!(
        out,
        "    fn http<'a>(&'a self, req: &'a HttpRequest<'a>) -> ::std::option::Option<HttpFuture<'a>> {{\n        self.0.http(req)\n    }}\n\n    \
         fn response_headers(&self, req: &HttpRequest<'_>) -> ::std::vec::Vec<(::std::string::String, ::std::string::String)> {{\n        self.0.response_headers(req)\n    }}\n\n    \
         fn access(&self, ctx: &RequestContext, input: &Value) -> ::std::vec::Vec<crate::access::Access> {{\n        self.0.access(ctx, input)\n    }}\n\n    \
         fn resource_policy(&self, ctx: &RequestContext, arn: &str) -> ::std::option::Option<::std::string::String> {{\n        self.0.resource_policy(ctx, arn)\n    }}\n\n    \
         fn http_auth(&self, req: &HttpRequest<'_>) -> ::std::option::Option<crate::handler::HttpAuth> {{\n        self.0.http_auth(req)\n    }}\n"
    )
    .unwrap();
    writeln!(out, "    fn call<'a>(&'a self, ctx: &'a RequestContext, input: Value) -> HandlerFuture<'a> {{").unwrap();
    writeln!(out, "        Box::pin(async move {{\n            match ctx.operation.as_str() {{").unwrap();
    for op in spec.operations {
        writeln!(
            out,
            "                \"{op}\" => {{\n                    let input = FromValue::from_value(input).map_err(|e| self.0.invalid_input(e))?;\n                    \
             Ok(self.0.{}(ctx, input).await?.into_value())\n                }}",
            snake(op)
        )
        .unwrap();
    }
    writeln!(
        out,
        "                other => Err(AwsError::not_implemented(\"{}\", other)),\n            }}\n        }})\n    }}\n}}",
        spec.name
    )
    .unwrap();
    out
}

/// The `ServiceMeta` literal of a service: what routing needs, without parsing its model.
pub fn meta(spec: &ServiceSpec, model: &ServiceModel) -> String {
    let md = &model.metadata;
    let mut protocols: Vec<&str> = md.protocols.iter().map(String::as_str).collect();
    if !protocols.contains(&md.protocol.as_str()) {
        protocols.push(&md.protocol);
    }
    let signing = md.signing_name.clone().or(md.endpoint_prefix.clone()).unwrap_or_default();
    let opt = |o: &Option<String>| o.as_ref().map(|s| format!("Some({s:?})")).unwrap_or("None".into());
    format!(
        "    ServiceMeta {{ name: {:?}, signing_name: {signing:?}, target_prefix: {}, api_version: {:?}, protocols: &{protocols:?}, query_compatible: {}, json: include_str!(\"../../models/{}.json\") }},",
        spec.name,
        opt(&md.target_prefix),
        md.api_version,
        md.aws_query_compatible.is_some(),
        spec.name
    )
}

pub fn generate_mod(modules: &[&str], metas: &[String], version: &str) -> String {
    let mut out = format!(
        "//! Generated by `cargo xtask codegen` from botocore {version}. Do not edit.\n\n"
    );
    for m in modules {
        writeln!(out, "pub mod {m};").unwrap();
    }
    out.push_str("\nuse crate::ServiceMeta;\n\n/// Every service nubo knows, with its embedded model.\npub const SERVICES: &[ServiceMeta] = &[\n");
    for m in metas {
        out.push_str(m);
        out.push('\n');
    }
    out.push_str("];\n");
    out
}

#[cfg(test)]
mod tests {
    use super::snake;

    #[test]
    fn snake_case_follows_aws_acronyms() {
        assert_eq!(snake("QueueNamePrefix"), "queue_name_prefix");
        assert_eq!(snake("DBInstanceIdentifier"), "db_instance_identifier");
        assert_eq!(snake("VpcId"), "vpc_id");
        assert_eq!(snake("Type"), "r#type");
        assert_eq!(snake("SSEKMSKeyId"), "ssekms_key_id");
    }
}
