/**
 * Calls `fn` with no stack captured by the errors made during its synchronous part (an async rest, if
 * any, runs as usual). For errors made only to be caught or stored, never shown with their stack:
 * capturing those stacks was a large share of a pack run and of an offline evaluation (issue 17).
 */
export function stackless<T>(fn: () => T): T {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
        return fn();
    } finally {
        Error.stackTraceLimit = limit;
    }
}
