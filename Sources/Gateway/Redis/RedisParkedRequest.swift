/// A request waiting for the lease call another request of its worker made for the same key: woken with
/// ``RedisReply/retry`` once that call settles.
package struct RedisParkedRequest {
    package var lease: UInt64
    package var waiter: RedisWaiter
}
