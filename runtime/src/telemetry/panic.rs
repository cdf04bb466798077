//! The panic hook: a panic is logged as an `ERROR` event through the installed subscriber (inside
//! the panicking thread's span, so with its correlation ID).

pub(super) fn log_panic(info: &std::panic::PanicHookInfo<'_>) {
    let message = crate::error::panic_text(info.payload());
    let location = info
        .location()
        .map(|l| format!("{}:{}", l.file(), l.line()))
        .unwrap_or_default();
    tracing::error!(panic.message = %message, panic.location = %location, "panic");
}
