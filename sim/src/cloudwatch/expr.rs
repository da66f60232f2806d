//! Metric math, the arithmetic subset: numbers, metric ids, `+ - * /`,
//! unary minus and parentheses (`m1/m2`, `m1/m2*100`, `100*(m1+m2)/m3`).
//! Evaluated per timestamp: a result exists only where every referenced
//! metric has a value and no division by zero happens, as CloudWatch drops
//! such points. Functions (`SUM(METRICS())`, `FILL`, …) are refused. It
//! knows no metric store.

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Num(f64),
    Id(String),
    Neg(Box<Expr>),
    Bin(Box<Expr>, char, Box<Expr>),
}

/// How deeply an expression tree may nest (parentheses, unary minus and
/// each operator of a chain count one level). Parsing, evaluating and
/// dropping the tree recurse once per level, so the bound keeps any 2048-char
/// `Expression` far from the stack limit; deeper → a `ValidationError`.
pub const MAX_DEPTH: usize = 100;

/// A parsed subtree and its depth.
type Parsed = (Expr, usize);

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    /// Open parentheses / unary minus being parsed (recursion depth).
    nesting: usize,
}

fn too_deep() -> String {
    format!("the expression is nested too deeply (more than {MAX_DEPTH} levels)")
}

fn bin(l: Parsed, op: u8, r: Parsed) -> Result<Parsed, String> {
    let depth = 1 + l.1.max(r.1);
    if depth > MAX_DEPTH {
        return Err(too_deep());
    }
    Ok((Expr::Bin(Box::new(l.0), op as char, Box::new(r.0)), depth))
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.s.get(self.i).copied()
    }

    fn expr(&mut self) -> Result<Parsed, String> {
        let mut l = self.term()?;
        while let Some(c @ (b'+' | b'-')) = self.peek() {
            self.i += 1;
            let r = self.term()?;
            l = bin(l, c, r)?;
        }
        Ok(l)
    }

    fn term(&mut self) -> Result<Parsed, String> {
        let mut l = self.factor()?;
        while let Some(c @ (b'*' | b'/')) = self.peek() {
            self.i += 1;
            let r = self.factor()?;
            l = bin(l, c, r)?;
        }
        Ok(l)
    }

    /// Enters one level of recursion (a parenthesis or unary minus).
    fn nest(&mut self) -> Result<(), String> {
        self.nesting += 1;
        if self.nesting > MAX_DEPTH {
            return Err(too_deep());
        }
        Ok(())
    }

    fn factor(&mut self) -> Result<Parsed, String> {
        match self.peek() {
            Some(b'(') => {
                self.i += 1;
                self.nest()?;
                let e = self.expr()?;
                self.nesting -= 1;
                if self.peek() != Some(b')') {
                    return Err("missing ')'".into());
                }
                self.i += 1;
                Ok(e)
            }
            Some(b'-') => {
                self.i += 1;
                self.nest()?;
                let (e, depth) = self.factor()?;
                self.nesting -= 1;
                if depth + 1 > MAX_DEPTH {
                    return Err(too_deep());
                }
                Ok((Expr::Neg(Box::new(e)), depth + 1))
            }
            Some(c) if c.is_ascii_digit() || c == b'.' => {
                let start = self.i;
                while self.i < self.s.len()
                    && (self.s[self.i].is_ascii_digit() || self.s[self.i] == b'.')
                {
                    self.i += 1;
                }
                let text = std::str::from_utf8(&self.s[start..self.i]).unwrap_or("");
                text.parse()
                    .map(|n| (Expr::Num(n), 1))
                    .map_err(|_| format!("invalid number '{text}'"))
            }
            Some(c) if c.is_ascii_alphabetic() => {
                let start = self.i;
                while self.i < self.s.len()
                    && (self.s[self.i].is_ascii_alphanumeric() || self.s[self.i] == b'_')
                {
                    self.i += 1;
                }
                let id = String::from_utf8_lossy(&self.s[start..self.i]).into_owned();
                if self.peek() == Some(b'(') {
                    return Err(format!(
                        "the function {id}() is not supported by aws-sim (arithmetic on metric ids only)"
                    ));
                }
                Ok((Expr::Id(id), 1))
            }
            Some(c) => Err(format!("unexpected '{}'", c as char)),
            None => Err("unexpected end of expression".into()),
        }
    }
}

impl Expr {
    /// Parses an expression; deeper than [`MAX_DEPTH`] is an error.
    pub fn parse(s: &str) -> Result<Expr, String> {
        let mut p = Parser {
            s: s.as_bytes(),
            i: 0,
            nesting: 0,
        };
        let (e, _) = p.expr()?;
        if p.peek().is_some() {
            return Err(format!("unexpected '{}'", &s[p.i..]));
        }
        Ok(e)
    }

    /// The metric ids the expression references.
    pub fn ids(&self) -> Vec<String> {
        match self {
            Expr::Num(_) => vec![],
            Expr::Id(i) => vec![i.clone()],
            Expr::Neg(e) => e.ids(),
            Expr::Bin(l, _, r) => {
                let mut v = l.ids();
                v.extend(r.ids());
                v
            }
        }
    }

    /// The value at one timestamp, given each id's value there.
    pub fn eval(&self, value_of: &dyn Fn(&str) -> Option<f64>) -> Option<f64> {
        let v = match self {
            Expr::Num(n) => *n,
            Expr::Id(i) => value_of(i)?,
            Expr::Neg(e) => -e.eval(value_of)?,
            Expr::Bin(l, op, r) => {
                let (a, b) = (l.eval(value_of)?, r.eval(value_of)?);
                match op {
                    '+' => a + b,
                    '-' => a - b,
                    '*' => a * b,
                    _ if b == 0.0 => return None,
                    _ => a / b,
                }
            }
        };
        v.is_finite().then_some(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn val(id: &str) -> Option<f64> {
        match id {
            "m1" => Some(3.0),
            "m2" => Some(12.0),
            "z" => Some(0.0),
            _ => None,
        }
    }

    #[test]
    fn ratios() {
        for (e, want) in [
            ("m1/m2", Some(0.25)),
            ("m1/m2*100", Some(25.0)),
            ("100*m1/m2", Some(25.0)),
            ("100 * (m1 + m1) / m2", Some(50.0)),
            ("-m1 + 1", Some(-2.0)),
            ("m1/z", None),
            ("m1/missing", None),
        ] {
            assert_eq!(Expr::parse(e).unwrap().eval(&val), want, "{e}");
        }
        assert_eq!(Expr::parse("m1/m2").unwrap().ids(), ["m1", "m2"]);
        assert!(Expr::parse("SUM(METRICS())").is_err());
        assert!(Expr::parse("m1/").is_err());
        assert!(Expr::parse("(m1").is_err());
    }

    #[test]
    fn deep_nesting_is_refused_not_a_stack_overflow() {
        // P1-9: 1000 nested parentheses (2 KB) aborted the process.
        let parens = format!("{}m1{}", "(".repeat(1000), ")".repeat(1000));
        assert!(
            Expr::parse(&parens)
                .unwrap_err()
                .contains("nested too deeply")
        );
        let minus = format!("{}m1", "-".repeat(2046));
        assert!(
            Expr::parse(&minus)
                .unwrap_err()
                .contains("nested too deeply")
        );
        let chain = vec!["m1"; 700].join("+");
        assert!(
            Expr::parse(&chain)
                .unwrap_err()
                .contains("nested too deeply")
        );
        // Within the bound everything still evaluates.
        let ok = format!(
            "{}m1{}",
            "(".repeat(MAX_DEPTH - 1),
            ")".repeat(MAX_DEPTH - 1)
        );
        assert_eq!(Expr::parse(&ok).unwrap().eval(&val), Some(3.0));
        let sum = vec!["m1"; MAX_DEPTH].join("+");
        assert_eq!(Expr::parse(&sum).unwrap().eval(&val), Some(300.0));
    }
}
