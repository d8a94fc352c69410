//! Fieldless enums stored and sent by a fixed name (`verdict == "deny"`), shared by the
//! record's types and the session's.

/// A recorded value was not one of the names its type knows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{value}` is not a known {what}")]
pub struct UnknownName {
    pub what: &'static str,
    pub value: String,
}

/// Declares a fieldless enum whose stored and wire form is a fixed snake_case name: `as_str`,
/// `FromStr`, `Display`, serde, and comparison with the name (`verdict == "deny"`).
macro_rules! named_enum {
    ($(#[$meta:meta])* pub enum $name:ident as $what:literal { $($(#[$vmeta:meta])* $variant:ident = $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, ::serde::Serialize, ::serde::Deserialize,
            ts_rs::TS,
        )]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant,)+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The stored and wire name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::names::UnknownName;
            fn from_str(text: &str) -> Result<Self, $crate::names::UnknownName> {
                match text {
                    $($text => Ok($name::$variant),)+
                    _ => Err($crate::names::UnknownName { what: $what, value: text.to_owned() }),
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }
    };
}

pub(crate) use named_enum;
