/// The groups of a ``ByteRegex`` match: views into the text that was searched.
package struct RegexCaptures {
    /// The text the pattern matched in.
    package let text: UnsafeRawBufferPointer
    /// Start and end offsets of group 0 and of each group (-1 when it took no part).
    package let slots: UnsafePointer<Int32>
    /// Capturing groups of the pattern.
    package let groupCount: Int

    package init(text: UnsafeRawBufferPointer, slots: UnsafePointer<Int32>, groupCount: Int) {
        self.text = text
        self.slots = slots
        self.groupCount = groupCount
    }

    /// Group `group`'s bytes (0: the whole match), or nil when it took no part or does not exist.
    @inline(__always)
    package func group(_ group: Int) -> UnsafeRawBufferPointer? {
        guard group >= 0, group <= groupCount else { return nil }
        let start = Int(slots[2 * group])
        let end = Int(slots[2 * group + 1])
        guard start >= 0, end >= start, end <= text.count else { return nil }
        return UnsafeRawBufferPointer(rebasing: text[start..<end])
    }

    /// Where the whole match starts and ends.
    package var matchRange: Range<Int> {
        Int(slots[0])..<Int(slots[1])
    }
}
