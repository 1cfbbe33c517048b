//! The column registry: each table the event path writes is declared once ([`registry!`], in
//! `store::rows`), and everything that must agree with that declaration is generated from it —
//! the row type's loading (`Queryable`), the select list, the bind arguments of an insert or an
//! update in column order, the column lists of the SQL, and the array types of PostgreSQL's
//! `unnest`. The compiler checks each declared column against the schema (`store::schema`):
//! a misspelt column or a type that differs from the table's does not build. Adding a column to
//! `deployments` means adding one line to its registry (and the field to the row type).

use super::prepared::Arg;
use super::time::StoredTime;
use crate::domain::DeploymentStatus;
use chrono::NaiveDateTime;
use diesel::sql_types::{Bool, Integer, Nullable, Text, Timestamp};

/// How a field is bound as a parameter of SQL type `ST`.
pub trait Bind<ST> {
    fn arg(&self) -> Arg<'_>;
}

impl Bind<Text> for String {
    fn arg(&self) -> Arg<'_> {
        Arg::Text(self)
    }
}
impl Bind<Nullable<Text>> for Option<String> {
    fn arg(&self) -> Arg<'_> {
        Arg::OptText(self.as_deref())
    }
}
impl Bind<Timestamp> for NaiveDateTime {
    fn arg(&self) -> Arg<'_> {
        Arg::Time(StoredTime(*self))
    }
}
impl Bind<Nullable<Timestamp>> for Option<NaiveDateTime> {
    fn arg(&self) -> Arg<'_> {
        Arg::OptTime(self.map(StoredTime))
    }
}
impl Bind<Integer> for i32 {
    fn arg(&self) -> Arg<'_> {
        Arg::Int(*self)
    }
}
impl Bind<Bool> for bool {
    fn arg(&self) -> Arg<'_> {
        Arg::Bool(*self)
    }
}
/// Statuses are stored by their canonical name.
impl Bind<Text> for DeploymentStatus {
    fn arg(&self) -> Arg<'_> {
        Arg::Text(self.as_str())
    }
}

/// How a field is read from a column of SQL type `ST`: loaded as `Raw`, then converted.
pub trait Load<ST>: Sized {
    type Raw;
    fn load(raw: Self::Raw) -> Self;
}

macro_rules! load_as_is {
    ($($st:ty => $t:ty),*) => {$(
        impl Load<$st> for $t {
            type Raw = $t;
            fn load(raw: $t) -> $t {
                raw
            }
        }
    )*};
}
load_as_is!(Text => String, Nullable<Text> => Option<String>, Integer => i32, Bool => bool);

/// Times go through [`StoredTime`], which reads SQLite's text without chrono's parser.
impl Load<Timestamp> for NaiveDateTime {
    type Raw = StoredTime;
    fn load(raw: StoredTime) -> NaiveDateTime {
        raw.0
    }
}
impl Load<Nullable<Timestamp>> for Option<NaiveDateTime> {
    type Raw = Option<StoredTime>;
    fn load(raw: Option<StoredTime>) -> Option<NaiveDateTime> {
        raw.map(|t| t.0)
    }
}
/// Only canonical names are ever written; an unknown one reads as the safest state.
impl Load<Text> for DeploymentStatus {
    type Raw = String;
    fn load(raw: String) -> DeploymentStatus {
        DeploymentStatus::from_db(&raw).unwrap_or(DeploymentStatus::Pending)
    }
}

/// The PostgreSQL array type a column is bound as in a set-based statement (`unnest`).
pub trait ArrayType {
    const ARRAY: &'static str;
}
impl ArrayType for Text {
    const ARRAY: &'static str = "text[]";
}
impl ArrayType for Nullable<Text> {
    const ARRAY: &'static str = "text[]";
}
impl ArrayType for Timestamp {
    const ARRAY: &'static str = "timestamp[]";
}
impl ArrayType for Nullable<Timestamp> {
    const ARRAY: &'static str = "timestamp[]";
}
impl ArrayType for Integer {
    const ARRAY: &'static str = "integer[]";
}
impl ArrayType for Bool {
    const ARRAY: &'static str = "boolean[]";
}

/// Declares a table's registry: a module `$module` with its column lists and argument builders,
/// and the `Queryable` implementation of `$row` over [`$module::COLUMNS`]. Columns are listed
/// as `field: RustType => SqlType`, in three groups: the key, the columns written once, and the
/// columns an update changes (possibly none). That order is the column order everywhere.
macro_rules! registry {
    (
        $(#[$doc:meta])*
        $vis:vis mod $module:ident: $row:ty = $table:ident {
            key $key:ident: $key_ty:ty => $key_st:ty;
            fixed { $($fixed:ident: $fixed_ty:ty => $fixed_st:ty),* $(,)? }
            changing { $($chg:ident: $chg_ty:ty => $chg_st:ty),* $(,)? }
        }
    ) => {
        $(#[$doc])*
        $vis mod $module {
            #[allow(unused_imports)]
            use super::*;
            use $crate::store::prepared::Arg;
            use $crate::store::registry::{ArrayType, Bind};
            use $crate::store::schema::$table;

            pub const TABLE: &str = stringify!($table);
            pub const KEY: &str = stringify!($key);
            /// Every column, in the registry's order.
            pub const NAMES: &[&str] =
                &[stringify!($key), $(stringify!($fixed),)* $(stringify!($chg),)*];
            /// The columns an update changes.
            pub const CHANGING: &[&str] = &[$(stringify!($chg),)*];
            /// The array type of each column, for `unnest` (PostgreSQL).
            pub const ARRAYS: &[&str] = &[
                <$key_st as ArrayType>::ARRAY,
                $(<$fixed_st as ArrayType>::ARRAY,)*
                $(<$chg_st as ArrayType>::ARRAY,)*
            ];
            /// The array types of the changing columns, then the key's (an update's order).
            #[allow(dead_code)]
            pub const UPDATE_ARRAYS: &[&str] = &[
                $(<$chg_st as ArrayType>::ARRAY,)*
                <$key_st as ArrayType>::ARRAY,
            ];
            pub const N: usize = NAMES.len();
            pub const NC: usize = CHANGING.len();
            /// The SQL types of a row, in column order.
            pub type Sql = ($key_st, $($fixed_st,)* $($chg_st,)*);
            /// The select list that loads a row.
            #[allow(dead_code)]
            pub const COLUMNS: ($table::$key, $($table::$fixed,)* $($table::$chg,)*) =
                ($table::$key, $($table::$fixed,)* $($table::$chg,)*);

            /// Every column's value, in column order (an insert's parameters).
            pub fn args(r: &$row) -> [Arg<'_>; N] {
                [
                    <$key_ty as Bind<$key_st>>::arg(&r.$key),
                    $(<$fixed_ty as Bind<$fixed_st>>::arg(&r.$fixed),)*
                    $(<$chg_ty as Bind<$chg_st>>::arg(&r.$chg),)*
                ]
            }

            /// The changing columns' values, then the key (an update's parameters).
            #[allow(dead_code)]
            pub fn update_args(r: &$row) -> [Arg<'_>; NC + 1] {
                [
                    $(<$chg_ty as Bind<$chg_st>>::arg(&r.$chg),)*
                    <$key_ty as Bind<$key_st>>::arg(&r.$key),
                ]
            }

            // Each declared SQL type is the schema's: a column of another type (or none of
            // that name) does not compile.
            #[allow(dead_code)]
            fn declared_types_are_the_schemas() {
                fn same<T>(_: ::core::marker::PhantomData<T>, _: ::core::marker::PhantomData<T>) {}
                same(
                    ::core::marker::PhantomData::<<$table::$key as diesel::Expression>::SqlType>,
                    ::core::marker::PhantomData::<$key_st>,
                );
                $(same(
                    ::core::marker::PhantomData::<<$table::$fixed as diesel::Expression>::SqlType>,
                    ::core::marker::PhantomData::<$fixed_st>,
                );)*
                $(same(
                    ::core::marker::PhantomData::<<$table::$chg as diesel::Expression>::SqlType>,
                    ::core::marker::PhantomData::<$chg_st>,
                );)*
            }
        }

        impl<DB> diesel::Queryable<$module::Sql, DB> for $row
        where
            DB: diesel::backend::Backend,
            (
                <$key_ty as $crate::store::registry::Load<$key_st>>::Raw,
                $(<$fixed_ty as $crate::store::registry::Load<$fixed_st>>::Raw,)*
                $(<$chg_ty as $crate::store::registry::Load<$chg_st>>::Raw,)*
            ): diesel::deserialize::FromStaticSqlRow<$module::Sql, DB>,
        {
            type Row = (
                <$key_ty as $crate::store::registry::Load<$key_st>>::Raw,
                $(<$fixed_ty as $crate::store::registry::Load<$fixed_st>>::Raw,)*
                $(<$chg_ty as $crate::store::registry::Load<$chg_st>>::Raw,)*
            );

            fn build(row: Self::Row) -> diesel::deserialize::Result<Self> {
                use $crate::store::registry::Load;
                let ($key, $($fixed,)* $($chg,)*) = row;
                Ok(Self {
                    $key: <$key_ty as Load<$key_st>>::load($key),
                    $($fixed: <$fixed_ty as Load<$fixed_st>>::load($fixed),)*
                    $($chg: <$chg_ty as Load<$chg_st>>::load($chg),)*
                })
            }
        }
    };
}
pub(crate) use registry;

// ---------------------------------------------------------------------------------------------
// SQL built from a registry's column lists. `?` marks a bind parameter (`$n` on PostgreSQL).

/// `a, b, c`
pub fn list(names: &[&str]) -> String {
    names.join(", ")
}

/// `x.a, x.b, x.c`
pub fn select(alias: &str, names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("{alias}.{n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `?, ?, ?`: one parameter per column.
pub fn params(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// `INSERT INTO t (a, b) VALUES (?, ?)`
pub fn insert(table: &str, names: &[&str]) -> String {
    format!(
        "INSERT INTO {table} ({}) VALUES ({})",
        list(names),
        params(names.len())
    )
}

/// `UPDATE t SET a = ?, b = ? WHERE key = ?`
pub fn update(table: &str, changing: &[&str], key: &str) -> String {
    let set: Vec<String> = changing.iter().map(|c| format!("{c} = ?")).collect();
    format!("UPDATE {table} SET {} WHERE {key} = ?", set.join(", "))
}

/// `unnest(?::text[], ?::timestamp[]) AS alias(a, b)`: one array parameter per column.
pub fn unnest(alias: &str, names: &[&str], arrays: &[&str]) -> String {
    let params: Vec<String> = arrays.iter().map(|a| format!("?::{a}")).collect();
    format!("unnest({}) AS {alias}({})", params.join(", "), list(names))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_are_built_from_column_lists() {
        assert_eq!(
            insert("t", &["a", "b"]),
            "INSERT INTO t (a, b) VALUES (?, ?)"
        );
        assert_eq!(
            update("t", &["a", "b"], "id"),
            "UPDATE t SET a = ?, b = ? WHERE id = ?"
        );
        assert_eq!(select("d", &["a", "b"]), "d.a, d.b");
        assert_eq!(
            unnest("x", &["a", "b"], &["text[]", "timestamp[]"]),
            "unnest(?::text[], ?::timestamp[]) AS x(a, b)"
        );
    }
}
