/// Turns a ``ByteRegexNode`` tree into Pike VM instructions.
struct ByteRegexCompiler {
    var instructions: [ByteRegex.Instruction] = []

    mutating func append(_ instruction: ByteRegex.Instruction) {
        instructions.append(instruction)
    }

    private var next: Int32 { Int32(instructions.count) }

    mutating func emit(_ node: ByteRegexNode) throws(ByteRegex.CompileError) {
        guard instructions.count <= ByteRegex.maximumProgram else {
            throw ByteRegex.CompileError(
                description: "pattern is too large (more than \(ByteRegex.maximumProgram) steps once expanded)"
            )
        }
        switch node {
        case .empty:
            break
        case .byte(let byte):
            append(.init(operation: .byte, x: Int32(byte), y: 0))
        case .any:
            append(.init(operation: .any, x: 0, y: 0))
        case .set(let index):
            append(.init(operation: .set, x: Int32(index), y: 0))
        case .begin:
            append(.init(operation: .begin, x: 0, y: 0))
        case .end:
            append(.init(operation: .end, x: 0, y: 0))
        case .group(let index, let inner):
            if let index { append(.init(operation: .save, x: Int32(2 * index), y: 0)) }
            try emit(inner)
            if let index { append(.init(operation: .save, x: Int32(2 * index + 1), y: 0)) }
        case .concat(let items):
            for item in items { try emit(item) }
        case .alternation(let branches):
            var jumps: [Int] = []
            for (position, branch) in branches.enumerated() {
                if position < branches.count - 1 {
                    let split = instructions.count
                    append(.init(operation: .split, x: next + 1, y: 0))
                    try emit(branch)
                    jumps.append(instructions.count)
                    append(.init(operation: .jump, x: 0, y: 0))
                    instructions[split].y = next
                } else {
                    try emit(branch)
                }
            }
            for jump in jumps { instructions[jump].x = next }
        case .repeated(let inner, let minimum, let maximum, let greedy):
            for _ in 0..<minimum { try emit(inner) }
            if let maximum {
                // x{0,k} as nested optionals: (x(x(x)?)?)?, every skip leaving the whole repetition.
                var splits: [Int] = []
                for _ in minimum..<maximum {
                    splits.append(instructions.count)
                    append(.init(operation: .split, x: 0, y: 0))
                    try emit(inner)
                }
                for split in splits {
                    let body = Int32(split + 1)
                    instructions[split].x = greedy ? body : next
                    instructions[split].y = greedy ? next : body
                }
            } else {
                let loop = instructions.count
                append(.init(operation: .split, x: 0, y: 0))
                try emit(inner)
                append(.init(operation: .jump, x: Int32(loop), y: 0))
                let body = Int32(loop + 1)
                instructions[loop].x = greedy ? body : next
                instructions[loop].y = greedy ? next : body
            }
        }
    }
}
