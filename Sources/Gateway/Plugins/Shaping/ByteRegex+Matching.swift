extension ByteRegex {
    /// The threads of one step: program counters and their capture slots.
    private struct ThreadList {
        var counters: UnsafeMutablePointer<Int32>
        var slots: UnsafeMutablePointer<Int32>
        var count = 0
    }

    /// Bytes of workspace one ``search(_:in:)`` needs (fixed by the program, whatever the text).
    package var workspaceSize: Int {
        let size = programCount
        let slots = slotCount
        // result + fresh slots, marks, two thread lists, the closure stack (3 words an entry).
        let words = 2 * slots + size + 2 * (size + size * slots) + 3 * (2 * size + 2)
        return words * MemoryLayout<Int32>.stride
    }

    /// Whether the pattern matches somewhere in `text`.
    @inline(__always)
    package func matches(_ text: UnsafeRawBufferPointer, in workspace: UnsafeMutableRawPointer) -> Bool {
        search(text, in: workspace) != nil
    }

    /// Finds the leftmost match in `text` (leftmost-first, as PCRE): nil when there is none, else the
    /// ``slotCount`` capture slots — start and end offsets of the whole match and of each group, -1 for
    /// a group that took no part — stored in `workspace` (at least ``workspaceSize`` bytes, 4-aligned)
    /// and valid until it is used again.
    package func search(_ text: UnsafeRawBufferPointer, in workspace: UnsafeMutableRawPointer) -> UnsafePointer<Int32>?
    {
        let size = programCount
        let slots = slotCount
        let words = workspace.assumingMemoryBound(to: Int32.self)
        let result = words
        let fresh = words + slots
        let marks = fresh + slots
        var current = ThreadList(counters: marks + size, slots: marks + 2 * size)
        var next = ThreadList(counters: marks + 2 * size + size * slots, slots: marks + 3 * size + size * slots)
        let stack = marks + 3 * size + 2 * size * slots
        marks.update(repeating: 0, count: size)
        fresh.update(repeating: -1, count: slots)
        let textCount = text.count

        var generation: Int32 = 1
        var matched = false
        addThread(&current, 0, 0, fresh, generation, marks, stack, textCount)
        var position = 0
        while true {
            if current.count == 0 && (matched || anchoredStart) { break }
            generation &+= 1
            next.count = 0
            let byte: Int32 = position < textCount ? Int32(text[position]) : -1
            var index = 0
            while index < current.count {
                let counter = Int(current.counters[index])
                let threadSlots = current.slots + index * slots
                let instruction = program[counter]
                var advances = false
                switch instruction.operation {
                case .match:
                    // Lower-priority threads can only give a less preferred match: drop them.
                    matched = true
                    result.update(from: threadSlots, count: slots)
                    index = current.count
                    continue
                case .byte:
                    advances = byte == instruction.x
                case .any:
                    advances = byte >= 0 && byte != 0x0A
                case .set:
                    advances = byte >= 0 && sets[Int(instruction.x)].contains(UInt8(truncatingIfNeeded: byte))
                default:
                    break
                }
                if advances {
                    addThread(&next, Int32(counter + 1), position + 1, threadSlots, generation, marks, stack, textCount)
                }
                index += 1
            }
            guard position < textCount else { break }
            if !matched && !anchoredStart {
                // A match starting further right, at the lowest priority.
                addThread(&next, 0, position + 1, fresh, generation, marks, stack, textCount)
            }
            swap(&current, &next)
            position += 1
        }
        return matched ? UnsafePointer(result) : nil
    }

    /// Adds the thread at `start` and everything reachable from it without consuming a byte (jumps,
    /// splits in priority order, saves, assertions) to `list`, each counter once per step.
    @inline(__always)
    private func addThread(
        _ list: inout ThreadList,
        _ start: Int32,
        _ position: Int,
        _ slots: UnsafeMutablePointer<Int32>,
        _ generation: Int32,
        _ marks: UnsafeMutablePointer<Int32>,
        _ stack: UnsafeMutablePointer<Int32>,
        _ textCount: Int
    ) {
        let slotCount = self.slotCount
        // Entries: (kind, a, b); kind 0 explores counter a, kind 1 restores slot a to b.
        stack[0] = 0
        stack[1] = start
        var top = 1
        while top > 0 {
            top -= 1
            let entry = stack + 3 * top
            if entry[0] == 1 {
                slots[Int(entry[1])] = entry[2]
                continue
            }
            let counter = Int(entry[1])
            if marks[counter] == generation { continue }
            marks[counter] = generation
            let instruction = program[counter]
            switch instruction.operation {
            case .jump:
                Self.push(stack, &top, 0, instruction.x, 0)
            case .split:
                Self.push(stack, &top, 0, instruction.y, 0)
                Self.push(stack, &top, 0, instruction.x, 0)
            case .save:
                let slot = Int(instruction.x)
                Self.push(stack, &top, 1, instruction.x, slots[slot])
                slots[slot] = Int32(position)
                Self.push(stack, &top, 0, Int32(counter + 1), 0)
            case .begin:
                if position == 0 { Self.push(stack, &top, 0, Int32(counter + 1), 0) }
            case .end:
                if position == textCount { Self.push(stack, &top, 0, Int32(counter + 1), 0) }
            case .byte, .any, .set, .match:
                list.counters[list.count] = Int32(counter)
                (list.slots + list.count * slotCount).update(from: slots, count: slotCount)
                list.count += 1
            }
        }
    }

    @inline(__always)
    private static func push(
        _ stack: UnsafeMutablePointer<Int32>,
        _ top: inout Int,
        _ kind: Int32,
        _ a: Int32,
        _ b: Int32
    ) {
        let entry = stack + 3 * top
        entry[0] = kind
        entry[1] = a
        entry[2] = b
        top += 1
    }
}
