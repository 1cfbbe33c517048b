// @generated automatically by Diesel CLI (print_schema, see diesel.toml).

diesel::table! {
    audit_entries (id) {
        id -> Text,
        release_id -> Text,
        action -> Text,
        actor -> Text,
        details -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    deployment_events (id) {
        id -> Text,
        deployment_id -> Text,
        status -> Text,
        reported_status -> Text,
        applied -> Bool,
        payload -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    deployments (id) {
        id -> Text,
        product_id -> Text,
        version_id -> Text,
        environment_id -> Text,
        status -> Text,
        invoke_id -> Nullable<Text>,
        deployed_by -> Nullable<Text>,
        deployed_by_name -> Nullable<Text>,
        deployed_by_email -> Nullable<Text>,
        build_url -> Nullable<Text>,
        deploy_url -> Nullable<Text>,
        build_number -> Nullable<Text>,
        source_system -> Nullable<Text>,
        started_at -> Nullable<Timestamp>,
        completed_at -> Nullable<Timestamp>,
        extra_metadata -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    environments (id) {
        id -> Text,
        name -> Text,
        env_type -> Text,
        position -> Integer,
        description -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    idempotency_keys (scope, idem_key) {
        scope -> Text,
        idem_key -> Text,
        request_hash -> Text,
        response_status -> Integer,
        response_body -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    product_env_current (product_id, environment_id) {
        product_id -> Text,
        environment_id -> Text,
        version_id -> Text,
        deployment_id -> Text,
        completed_at -> Timestamp,
    }
}

diesel::table! {
    product_env_latest (product_id, environment_id) {
        product_id -> Text,
        environment_id -> Text,
        version_id -> Text,
        deployment_id -> Text,
        status -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    products (id) {
        id -> Text,
        name -> Text,
        description -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    release_versions (release_id, version_id) {
        release_id -> Text,
        version_id -> Text,
        product_id -> Text,
        added_at -> Timestamp,
    }
}

diesel::table! {
    releases (id) {
        id -> Text,
        name -> Text,
        description -> Nullable<Text>,
        status -> Text,
        extra_metadata -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        completed_at -> Nullable<Timestamp>,
        name_folded -> Nullable<Text>,
    }
}

diesel::table! {
    versions (id) {
        id -> Text,
        product_id -> Text,
        version -> Text,
        scm_sha -> Nullable<Text>,
        scm_branch -> Nullable<Text>,
        scm_repository -> Nullable<Text>,
        build_url -> Nullable<Text>,
        build_number -> Nullable<Text>,
        built_by -> Nullable<Text>,
        source_system -> Nullable<Text>,
        extra_metadata -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        build -> Nullable<Text>,
        planned -> Bool,
    }
}

diesel::table! {
    version_env_firsts (version_id, environment_id) {
        version_id -> Text,
        environment_id -> Text,
        first_completed_at -> Timestamp,
    }
}

diesel::table! {
    version_env_heads (version_id, environment_id) {
        version_id -> Text,
        environment_id -> Text,
        product_id -> Text,
        deployment_id -> Text,
        status -> Text,
        deployed_by -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(audit_entries -> releases (release_id));
diesel::joinable!(deployment_events -> deployments (deployment_id));
diesel::joinable!(deployments -> environments (environment_id));
diesel::joinable!(deployments -> products (product_id));
diesel::joinable!(deployments -> versions (version_id));
diesel::joinable!(release_versions -> products (product_id));
diesel::joinable!(release_versions -> releases (release_id));
diesel::joinable!(release_versions -> versions (version_id));
diesel::joinable!(versions -> products (product_id));
diesel::joinable!(product_env_current -> versions (version_id));
diesel::joinable!(product_env_latest -> versions (version_id));
diesel::joinable!(version_env_firsts -> environments (environment_id));

diesel::table! {
    users (id) {
        id -> Text,
        name -> Text,
        role -> Text,
        password_hash -> Text,
        disabled -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    api_keys (id) {
        id -> Text,
        name -> Text,
        scope -> Text,
        key_hash -> Text,
        created_by -> Text,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        user_id -> Text,
        csrf_token -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    login_throttle (subject) {
        subject -> Text,
        failures -> Integer,
        window_start -> Timestamp,
        locked_until -> Nullable<Timestamp>,
    }
}

diesel::table! {
    server_keys (name) {
        name -> Text,
        value -> Text,
    }
}

diesel::joinable!(sessions -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    api_keys,
    login_throttle,
    server_keys,
    sessions,
    users,
    audit_entries,
    deployment_events,
    deployments,
    environments,
    idempotency_keys,
    product_env_current,
    product_env_latest,
    products,
    release_versions,
    releases,
    version_env_firsts,
    version_env_heads,
    versions,
);
