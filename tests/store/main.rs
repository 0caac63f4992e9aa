//! Store conformance suite: one set of tests, run against SQLite, PostgreSQL and MySQL/MariaDB
//! (`sqlite::…`, `postgres::…`, `mysql::…`). Each test gets its own freshly created and
//! migrated database, dropped at the end (see harness.rs; servers from `TEST_POSTGRES_URL` and
//! `TEST_MYSQL_URL`, defaulting to the local ones). An unreachable server fails the test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod harness;

mod audit;
mod changes;
// Whole servers over the ACS emulator.
#[cfg(feature = "emulator")]
mod cluster;
mod deletions;
mod mappings;
mod migrations;
mod resources;
mod setup_links;
mod support;
mod tenants;

/// One `#[tokio::test]` per conformance case, in a module per backend.
macro_rules! conformance_suite {
    ($module:ident, $backend:expr) => {
        mod $module {
            macro_rules! case {
                ($file:ident :: $name:ident) => {
                    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                    async fn $name() {
                        crate::harness::run($backend, crate::$file::$name).await;
                    }
                };
            }

            case!(migrations::migrations_go_up_down_to_zero_and_up_again);
            case!(migrations::migrations_step_down_and_up_one_at_a_time);
            case!(migrations::replicas_migrating_at_once_all_succeed);
            case!(migrations::migrations_rerun_over_existing_objects);
            case!(migrations::connect_accepts_each_url_form_and_hides_the_password);

            case!(mappings::find_returns_none_for_an_unknown_subject);
            case!(
                mappings::insert_if_absent_keeps_the_first_mapping_and_reports_the_second_as_lost
            );
            case!(mappings::insert_if_absent_has_exactly_one_winner_under_concurrency);
            case!(mappings::subjects_compare_byte_for_byte);
            case!(mappings::strings_up_to_the_column_sizes_round_trip_and_longer_ones_are_refused);
            case!(mappings::timestamps_round_trip_in_utc_with_microsecond_precision);
            case!(mappings::touch_moves_last_used_and_keeps_created);
            case!(mappings::delete_and_enqueue_removes_the_mapping_and_queues_its_identity);
            case!(mappings::delete_and_enqueue_is_atomic);
            case!(mappings::second_delete_is_not_found);
            case!(mappings::concurrent_deletes_of_one_mapping_queue_it_exactly_once);
            case!(mappings::mappings_page_walks_one_tenant_in_id_order);
            case!(mappings::mappings_by_subject_and_count_see_only_their_tenant);

            case!(deletions::enqueued_deletion_records_reason_and_times);
            case!(deletions::due_deletions_come_oldest_first_and_respect_the_limit);
            case!(deletions::deferred_deletion_waits_until_its_next_attempt);
            case!(deletions::complete_removes_the_row_and_is_idempotent);

            case!(tenants::tenant_insert_get_update_round_trip_and_bump_the_registry_version);
            case!(tenants::duplicate_tenant_is_a_conflict_and_changes_nothing);
            case!(tenants::concurrent_inserts_of_one_tenant_have_one_winner);
            case!(tenants::update_or_delete_of_a_missing_tenant_is_not_found);
            case!(tenants::all_tenants_are_listed_in_byte_order);
            case!(tenants::delete_tenant_removes_its_mappings_and_queues_each_identity);
            case!(tenants::delete_tenant_racing_mapping_inserts_never_drops_a_mapping_unqueued);

            case!(audit::audit_page_is_newest_first_and_pages_with_before_id);
            case!(audit::audit_page_filters_by_tenant_and_time);
            case!(audit::audit_fields_are_clipped_to_their_columns);

            case!(resources::upsert_acs_resource_is_idempotent_and_updates_a_changed_config);
            case!(resources::concurrent_upserts_of_one_resource_store_one_row);

            case!(setup_links::a_link_round_trips_and_is_found_by_its_hash_only);
            case!(setup_links::each_state_change_happens_once_and_never_after_the_link_closed);
            case!(setup_links::concurrent_activations_of_one_submission_have_one_winner);
            case!(setup_links::deleting_a_tenant_revokes_only_its_open_links);

            case!(changes::every_mapping_and_tenant_change_is_logged_in_order_with_its_origin);
            case!(changes::a_lost_race_and_a_refused_delete_log_nothing);
            case!(changes::trimming_drops_old_changes_but_keeps_the_newest);
            case!(changes::heartbeats_count_the_live_replicas_and_leaving_removes_one);

            // Whole servers over the ACS emulator.
            #[cfg(feature = "emulator")]
            mod cluster {
                case!(cluster::a_delete_reaches_the_other_replica_within_a_second);
                case!(cluster::a_delete_reaches_two_other_replicas_within_a_second);
                case!(cluster::concurrent_first_calls_on_three_replicas_make_one_identity);
                case!(cluster::a_paused_replica_reads_from_the_database_and_catches_up);
                case!(cluster::a_replica_restarted_after_changes_serves_what_changed_while_it_was_down);
                case!(cluster::cluster_limits_hold_with_three_and_two_replicas_and_rebalance_when_one_stops);
                case!(cluster::a_replica_that_cannot_record_heartbeats_keeps_the_largest_recent_share);
            }
        }
    };
}

conformance_suite!(sqlite, crate::harness::Backend::Sqlite);
conformance_suite!(postgres, crate::harness::Backend::Postgres);
conformance_suite!(mysql, crate::harness::Backend::MySql);
