//! The registries of the tables the event path writes (see `store::registry`): one line per
//! column, from which their loading, select lists, arguments and SQL column lists come.

use super::registry::registry;
use crate::domain::catalog::{Environment, Product, Version};
use crate::domain::deployment::{Deployment, LoggedEvent};
use crate::domain::DeploymentStatus;
use chrono::NaiveDateTime;
use diesel::sql_types::{Bool, Integer, Nullable, Text, Timestamp};

registry! {
    /// `products`
    pub mod product_row: Product = products {
        key id: String => Text;
        fixed {
            name: String => Text,
            description: Option<String> => Nullable<Text>,
            created_at: NaiveDateTime => Timestamp,
            updated_at: NaiveDateTime => Timestamp,
        }
        changing {}
    }
}

registry! {
    /// `environments`
    pub mod environment_row: Environment = environments {
        key id: String => Text;
        fixed {
            name: String => Text,
            env_type: String => Text,
            position: i32 => Integer,
            description: Option<String> => Nullable<Text>,
            created_at: NaiveDateTime => Timestamp,
            updated_at: NaiveDateTime => Timestamp,
        }
        changing {}
    }
}

registry! {
    /// `versions`: the build facts (filled while empty) and the latest build run are what an
    /// event changes.
    pub mod version_row: Version = versions {
        key id: String => Text;
        fixed {
            product_id: String => Text,
            version: String => Text,
            created_at: NaiveDateTime => Timestamp,
        }
        changing {
            scm_sha: Option<String> => Nullable<Text>,
            scm_branch: Option<String> => Nullable<Text>,
            scm_repository: Option<String> => Nullable<Text>,
            build_url: Option<String> => Nullable<Text>,
            build_number: Option<String> => Nullable<Text>,
            built_by: Option<String> => Nullable<Text>,
            source_system: Option<String> => Nullable<Text>,
            extra_metadata: String => Text,
            updated_at: NaiveDateTime => Timestamp,
            build: Option<String> => Nullable<Text>,
            planned: bool => Bool,
        }
    }
}

registry! {
    /// `deployments`: an event changes what `Deployment::apply` fills in.
    pub mod deployment_row: Deployment = deployments {
        key id: String => Text;
        fixed {
            product_id: String => Text,
            version_id: String => Text,
            environment_id: String => Text,
            invoke_id: Option<String> => Nullable<Text>,
            created_at: NaiveDateTime => Timestamp,
        }
        changing {
            status: DeploymentStatus => Text,
            deployed_by: Option<String> => Nullable<Text>,
            deployed_by_name: Option<String> => Nullable<Text>,
            deployed_by_email: Option<String> => Nullable<Text>,
            build_url: Option<String> => Nullable<Text>,
            deploy_url: Option<String> => Nullable<Text>,
            build_number: Option<String> => Nullable<Text>,
            source_system: Option<String> => Nullable<Text>,
            started_at: Option<NaiveDateTime> => Nullable<Timestamp>,
            completed_at: Option<NaiveDateTime> => Nullable<Timestamp>,
            extra_metadata: String => Text,
            updated_at: NaiveDateTime => Timestamp,
        }
    }
}

registry! {
    /// `deployment_events`: the append-only event log.
    pub mod event_row: LoggedEvent = deployment_events {
        key id: String => Text;
        fixed {
            deployment_id: String => Text,
            status: DeploymentStatus => Text,
            reported_status: String => Text,
            applied: bool => Bool,
            payload: String => Text,
            created_at: NaiveDateTime => Timestamp,
        }
        changing {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::query_builder::QueryFragment;

    /// The column names of a select list as diesel writes them.
    fn selected<Q: QueryFragment<diesel::sqlite::Sqlite>>(q: Q) -> Vec<String> {
        let sql = diesel::debug_query::<diesel::sqlite::Sqlite, _>(&q).to_string();
        let list = sql
            .trim_start_matches("SELECT ")
            .split(" FROM ")
            .next()
            .unwrap_or_default()
            .to_string();
        list.split(", ")
            .map(|c| {
                c.rsplit('.')
                    .next()
                    .unwrap_or(c)
                    .trim_matches('`')
                    .to_string()
            })
            .collect()
    }

    #[test]
    fn each_registry_names_its_columns_in_the_order_it_loads_them() {
        use super::super::schema::*;
        use diesel::QueryDsl;
        let cases: [(&[&str], Vec<String>); 5] = [
            (
                product_row::NAMES,
                selected(products::table.select(product_row::COLUMNS)),
            ),
            (
                environment_row::NAMES,
                selected(environments::table.select(environment_row::COLUMNS)),
            ),
            (
                version_row::NAMES,
                selected(versions::table.select(version_row::COLUMNS)),
            ),
            (
                deployment_row::NAMES,
                selected(deployments::table.select(deployment_row::COLUMNS)),
            ),
            (
                event_row::NAMES,
                selected(deployment_events::table.select(event_row::COLUMNS)),
            ),
        ];
        for (names, columns) in cases {
            assert_eq!(names, columns.as_slice());
        }
    }

    #[test]
    fn each_registry_holds_every_column_of_its_table() {
        use super::super::schema::*;
        use diesel::QueryDsl;
        let sorted = |mut v: Vec<String>| {
            v.sort();
            v
        };
        let names = |n: &[&str]| sorted(n.iter().map(|s| s.to_string()).collect());
        // The event path writes whole rows: a column left out of a registry would be written
        // as its default by the set-based inserts.
        let cases = [
            (
                product_row::NAMES,
                selected(products::table.select(products::all_columns)),
            ),
            (
                environment_row::NAMES,
                selected(environments::table.select(environments::all_columns)),
            ),
            (
                version_row::NAMES,
                selected(versions::table.select(versions::all_columns)),
            ),
            (
                deployment_row::NAMES,
                selected(deployments::table.select(deployments::all_columns)),
            ),
            (
                event_row::NAMES,
                selected(deployment_events::table.select(deployment_events::all_columns)),
            ),
        ];
        for (registered, all) in cases {
            assert_eq!(names(registered), sorted(all));
        }
    }
}
