use std::process::ExitCode;

fn main() -> ExitCode {
    acs_auth::cli::main()
}
