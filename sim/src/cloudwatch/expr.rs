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

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
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

    fn expr(&mut self) -> Result<Expr, String> {
        let mut l = self.term()?;
        while let Some(c @ (b'+' | b'-')) = self.peek() {
            self.i += 1;
            l = Expr::Bin(Box::new(l), c as char, Box::new(self.term()?));
        }
        Ok(l)
    }

    fn term(&mut self) -> Result<Expr, String> {
        let mut l = self.factor()?;
        while let Some(c @ (b'*' | b'/')) = self.peek() {
            self.i += 1;
            l = Expr::Bin(Box::new(l), c as char, Box::new(self.factor()?));
        }
        Ok(l)
    }

    fn factor(&mut self) -> Result<Expr, String> {
        match self.peek() {
            Some(b'(') => {
                self.i += 1;
                let e = self.expr()?;
                if self.peek() != Some(b')') {
                    return Err("missing ')'".into());
                }
                self.i += 1;
                Ok(e)
            }
            Some(b'-') => {
                self.i += 1;
                Ok(Expr::Neg(Box::new(self.factor()?)))
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
                    .map(Expr::Num)
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
                Ok(Expr::Id(id))
            }
            Some(c) => Err(format!("unexpected '{}'", c as char)),
            None => Err("unexpected end of expression".into()),
        }
    }
}

impl Expr {
    pub fn parse(s: &str) -> Result<Expr, String> {
        let mut p = Parser {
            s: s.as_bytes(),
            i: 0,
        };
        let e = p.expr()?;
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
}
