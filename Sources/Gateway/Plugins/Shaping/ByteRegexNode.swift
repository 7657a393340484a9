/// The parsed form of a pattern.
indirect enum ByteRegexNode {
    case empty
    case byte(UInt8)
    case any
    case set(Int)
    case begin
    case end
    case group(Int?, ByteRegexNode)
    case concat([ByteRegexNode])
    case alternation([ByteRegexNode])
    case repeated(ByteRegexNode, minimum: Int, maximum: Int?, greedy: Bool)
}
