//! What a tenant's template may contain, checked on its syntax tree before it
//! is ever rendered.
//!
//! A message needs values and conditions, nothing more. Loops, assignments,
//! function calls, repetition (`*`, `**`) and most filters are refused: with them
//! a template of a few dozen characters can build strings of gigabytes in
//! memory (`namespace` doubling in a loop, `"x" * 99999999`), which neither the
//! fuel limit (it counts instructions, not bytes) nor a cap on the output can
//! stop. What is left produces at most a multiple of the template's own size and
//! its values', and the rendered output is capped besides (`template.rs`).
//!
//! The tree comes from MiniJinja's own parser (`unstable_machinery`, pinned by
//! the lock file), so what is checked is exactly what would run.

use minijinja::machinery::ast::{BinOpKind, CallArg, Expr, Stmt};
use minijinja::machinery::parse;
use minijinja::syntax::SyntaxConfig;

/// Filters that never make a value much larger than its input.
const ALLOWED_FILTERS: [&str; 14] = [
    "upper",
    "lower",
    "title",
    "capitalize",
    "trim",
    "default",
    "d",
    "length",
    "escape",
    "e",
    "string",
    "int",
    "abs",
    "round",
];

/// Why `source` may not be used as a message template, if it may not.
pub(crate) fn refusal(source: &str) -> Option<String> {
    let tree = match parse(source, "<template>", SyntaxConfig::default()) {
        Ok(tree) => tree,
        // Syntax errors are reported by rendering, with the engine's own words.
        Err(_) => return None,
    };
    statement(&tree).err()
}

type Checked = Result<(), String>;

fn statement(stmt: &Stmt<'_>) -> Checked {
    match stmt {
        Stmt::Template(template) => template.children.iter().try_for_each(statement),
        Stmt::EmitRaw(_) => Ok(()),
        Stmt::EmitExpr(emit) => expression(&emit.expr),
        Stmt::IfCond(cond) => {
            expression(&cond.expr)?;
            cond.true_body.iter().chain(&cond.false_body).try_for_each(statement)
        }
        _ => Err("may use only {{ values }} and {% if %} … {% else %} … {% endif %}: loops, assignments and other blocks are not allowed".into()),
    }
}

fn expression(expr: &Expr<'_>) -> Checked {
    match expr {
        Expr::Var(_) | Expr::Const(_) => Ok(()),
        Expr::UnaryOp(op) => expression(&op.expr),
        Expr::BinOp(op) => match op.op {
            BinOpKind::Mul | BinOpKind::Pow => Err("may not repeat or raise values (`*`, `**`)".into()),
            _ => {
                expression(&op.left)?;
                expression(&op.right)
            }
        },
        Expr::Compare(compare) => {
            expression(&compare.expr)?;
            compare.ops.iter().try_for_each(|op| expression(&op.expr))
        }
        Expr::IfExpr(choice) => {
            expression(&choice.test_expr)?;
            expression(&choice.true_expr)?;
            choice.false_expr.as_ref().map_or(Ok(()), expression)
        }
        Expr::Test(test) => {
            expression(&test.expr)?;
            arguments(&test.args)
        }
        Expr::Filter(filter) => {
            if !ALLOWED_FILTERS.contains(&filter.name) {
                return Err(format!(
                    "may not use the filter `{}`; allowed: {}",
                    filter.name,
                    ALLOWED_FILTERS.join(", ")
                ));
            }
            filter.expr.as_ref().map_or(Ok(()), expression)?;
            arguments(&filter.args)
        }
        Expr::GetAttr(get) => expression(&get.expr),
        Expr::GetItem(get) => {
            expression(&get.expr)?;
            expression(&get.subscript_expr)
        }
        Expr::Slice(slice) => {
            expression(&slice.expr)?;
            [&slice.start, &slice.stop, &slice.step].into_iter().flatten().try_for_each(expression)
        }
        Expr::Call(_) => Err("may not call functions or methods".into()),
        Expr::List(_) | Expr::Tuple(_) | Expr::Map(_) => Err("may not build lists or maps".into()),
    }
}

fn arguments(args: &[CallArg<'_>]) -> Checked {
    args.iter().try_for_each(|arg| match arg {
        CallArg::Pos(expr) | CallArg::Kwarg(_, expr) => expression(expr),
        CallArg::PosSplat(_) | CallArg::KwargSplat(_) => Err("may not splat arguments".into()),
    })
}

#[cfg(test)]
mod tests {
    use super::refusal;

    #[test]
    fn values_conditions_and_gentle_filters_are_allowed() {
        for fine in [
            "Hello {{ customerName }}",
            "{% if reason %}Reason: {{ reason | trim }}.{% else %}No reason.{% endif %}",
            "{{ businessName | upper }} — {{ startsAt ~ ' ' ~ timezone }}",
            "{{ customerName[:20] }} {{ (validHours > 1) and 'hours' or 'hour' }} {{ x is defined }}",
        ] {
            assert_eq!(refusal(fine), None, "{fine}");
        }
    }

    #[test]
    fn what_can_build_huge_values_is_refused() {
        for hostile in [
            "{{ 'x' * 99999999 }}",
            "{{ 9 ** 999999 }}",
            "{% set ns = namespace(a='x') %}{% for i in range(40) %}{% set ns.a = ns.a ~ ns.a %}{% endfor %}",
            "{% for c in customerName %}{{ c }}{% endfor %}",
            "{{ range(100000) }}",
            "{{ customerName | indent(99999999) }}",
            "{{ [customerName] }}",
            "{% filter upper %}x{% endfilter %}",
        ] {
            assert!(refusal(hostile).is_some(), "{hostile}");
        }
    }
}
