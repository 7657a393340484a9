/// A failure of the test harness itself (a process that did not start, a malformed response).
package struct IntegrationError: Error, CustomStringConvertible {
    package var description: String

    package init(_ description: String) {
        self.description = description
    }
}
