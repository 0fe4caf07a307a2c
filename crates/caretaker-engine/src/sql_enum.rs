//! `sql_enum!`: an enum stored as text (SQL and JSON alike), written once. It gives `as_str`,
//! `FromStr`, SQLite conversions, `Display`, and comparison with `&str`; serde and ts-rs derive
//! from the same snake_case names.
//!
//! Foundation layer: imports nothing from the rest of the crate.

#[macro_export]
#[doc(hidden)]
macro_rules! sql_enum {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, ts_rs::TS)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vmeta])* $variant,)+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            pub fn as_str(&self) -> &'static str {
                match self { $($name::$variant => $text,)+ }
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> std::result::Result<Self, String> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(format!("unknown {} {other:?}", stringify!($name))),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        impl rusqlite::types::ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
                Ok(rusqlite::types::ToSqlOutput::from(self.as_str()))
            }
        }

        impl rusqlite::types::FromSql for $name {
            fn column_result(v: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
                let s = v.as_str()?;
                s.parse().map_err(|e: String| rusqlite::types::FromSqlError::Other(e.into()))
            }
        }
    };
}

#[cfg(test)]
mod tests {
    crate::sql_enum! {
        pub enum Color {
            Red = "red",
            DeepBlue = "deep_blue",
        }
    }

    #[test]
    fn text_round_trips_through_sql_serde_and_str() {
        let conn = rusqlite::Connection::open_in_memory().expect("db");
        for c in Color::ALL {
            let back: Color = conn.query_row("SELECT ?1", [c], |r| r.get(0)).expect("round trip");
            assert_eq!(back, *c);
            assert_eq!(serde_json::to_string(c).expect("json"), format!("\"{}\"", c.as_str()));
            assert_eq!(c.as_str().parse::<Color>(), Ok(*c));
        }
        assert!(conn.query_row("SELECT 'green'", [], |r| r.get::<_, Color>(0)).is_err());
        assert!(Color::DeepBlue == "deep_blue");
    }
}
