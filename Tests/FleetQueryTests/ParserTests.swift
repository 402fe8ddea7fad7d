import Foundation
import Testing
@testable import FleetQuery

private func parse(_ text: String) throws -> FleetExpression? { try FleetFilter(parsing: text).root }
private func path(_ text: String) -> ParameterPattern { try! ParameterPattern(validating: text) }
private func field(_ field: DeviceField, _ op: FleetComparison, _ text: String) -> FleetExpression {
    .predicate(.field(field, .compare(op, .text(text))))
}
private func tag(_ name: String) -> FleetExpression { .predicate(.tag(.has(name))) }

@Suite struct ParserTests {
    @Test func briefExample() throws {
        let root = try parse(#"Device.WiFi.Radio.1.Channel = 6 AND softwareVersion < "2.1" AND tag = beta"#)
        #expect(root == .and([
            .predicate(.parameter(path("Device.WiFi.Radio.1.Channel"), .text(.equal, "6"))),
            field(.softwareVersion, .less, "2.1"),
            tag("beta"),
        ]))
    }

    @Test func emptyQueryMatchesAll() throws {
        #expect(try parse("") == nil)
        #expect(try parse("  \n\t ") == nil)
        #expect(FleetFilter.matchAll.description == "")
    }

    @Test func andBindsTighterThanOr() throws {
        #expect(try parse("tag = a OR tag = b AND tag = c") == .or([tag("a"), .and([tag("b"), tag("c")])]))
        #expect(try parse("tag = a AND tag = b OR tag = c") == .or([.and([tag("a"), tag("b")]), tag("c")]))
        #expect(try parse("tag = a OR tag = b OR tag = c") == .or([tag("a"), tag("b"), tag("c")]))
    }

    @Test func parenthesesOverridePrecedence() throws {
        #expect(try parse("(tag = a OR tag = b) AND tag = c") == .and([.or([tag("a"), tag("b")]), tag("c")]))
        #expect(try parse("((tag = a))") == tag("a"))
        #expect(try parse("tag = a AND (tag = b AND tag = c)") == .and([tag("a"), .and([tag("b"), tag("c")])]))
    }

    @Test func notBindsTightest() throws {
        #expect(try parse("NOT tag = a AND tag = b") == .and([.not(tag("a")), tag("b")]))
        #expect(try parse("NOT (tag = a AND tag = b)") == .not(.and([tag("a"), tag("b")])))
        #expect(try parse("NOT NOT tag = a") == .not(.not(tag("a"))))
        #expect(try parse("NOT EXISTS Device.X.Y") == .not(.predicate(.parameterExists(path("Device.X.Y")))))
    }

    @Test func keywordsAndFieldNamesAreCaseInsensitive() throws {
        let expected = FleetExpression.and([field(.modelName, .equal, "x"), .not(.predicate(.field(.lastBoot, .isNull)))])
        #expect(try parse(#"modelName = "x" AND NOT lastBoot IS NULL"#) == expected)
        #expect(try parse(#"MODELNAME = "x" and not LASTBOOT is null"#) == expected)
        #expect(try parse(#"modelname = "x" And Not lastboot Is Null"#) == expected)
        #expect(try parse("TAG in (a)") == .predicate(.tag(.hasAny(["a"]))))
    }

    @Test func everyComparisonOperator() throws {
        let cases: [(String, FleetComparison)] = [("=", .equal), ("==", .equal), ("!=", .notEqual), ("<>", .notEqual),
                                                  ("<", .less), ("<=", .lessOrEqual), (">", .greater), (">=", .greaterOrEqual)]
        for (text, op) in cases {
            #expect(try parse("serialNumber \(text) abc") == field(.serialNumber, op, "abc"), "operator \(text)")
            #expect(try parse("serialNumber\(text)abc") == field(.serialNumber, op, "abc"), "operator \(text) without spaces")
        }
    }

    @Test func inGlobExistsAndNullTests() throws {
        #expect(try parse(#"modelName IN ("a", b, 'c')"#) == .predicate(.field(.modelName, .oneOf([.text("a"), .text("b"), .text("c")]))))
        #expect(try parse("partition IN (1, 2,3)") == .predicate(.field(.partition, .oneOf([.integer(1), .integer(2), .integer(3)]))))
        #expect(try parse(#"modelName ~ "XG-*""#) == .predicate(.field(.modelName, .glob(FleetGlob("XG-*")))))
        #expect(try parse("modelName ~ XG-?1") == .predicate(.field(.modelName, .glob(FleetGlob("XG-?1")))))
        #expect(try parse("EXISTS Device.WiFi.SSID.*.") == .predicate(.parameterExists(path("Device.WiFi.SSID.*."))))
        #expect(try parse("instance IS NOT NULL") == .predicate(.field(.instance, .isNotNull)))
        #expect(try parse("lastBoot IS NULL") == .predicate(.field(.lastBoot, .isNull)))
    }

    @Test func tagOperators() throws {
        #expect(try parse("tag = beta") == tag("beta"))
        #expect(try parse("tag != beta") == .predicate(.tag(.lacks("beta"))))
        #expect(try parse("tag IN (a, \"b c\")") == .predicate(.tag(.hasAny(["a", "b c"]))))
        #expect(try parse("tag ~ \"lab-*\"") == .predicate(.tag(.hasMatching(FleetGlob("lab-*")))))
        #expect(try parse("tag = 2024") == tag("2024"))
    }

    @Test func typedDeviceFieldValues() throws {
        #expect(try parse("online = true") == .predicate(.field(.online, .compare(.equal, .boolean(true)))))
        #expect(try parse("online != FALSE") == .predicate(.field(.online, .compare(.notEqual, .boolean(false)))))
        #expect(try parse("twinVersion >= 42") == .predicate(.field(.twinVersion, .compare(.greaterOrEqual, .integer(42)))))
        #expect(try parse("partition = -3") == .predicate(.field(.partition, .compare(.equal, .integer(-3)))))
        #expect(try parse("protocol = USP") == field(.protocol, .equal, "usp"))
        #expect(try parse("serialNumber = 00123") == field(.serialNumber, .equal, "00123"), "numbers on text fields stay as written")
        #expect(try parse("lastContact < -7d") == .predicate(.field(.lastContact, .compare(.less, .time(.ago(FleetDuration(7, .days)))))))
        for (text, unit) in [("-12h", FleetDuration.Unit.hours), ("-30m", .minutes), ("-45s", .seconds)] {
            guard case .predicate(.field(_, .compare(_, .time(.ago(let duration)))))? = try parse("firstSeen > \(text)") else {
                Issue.record("\(text) did not parse as a relative time")
                continue
            }
            #expect(duration.unit == unit)
            #expect(duration.description == text)
        }
        let instant = Date(timeIntervalSince1970: 1_793_491_200)
        #expect(try parse(#"lastContact < "2026-11-01T00:00:00Z""#) == .predicate(.field(.lastContact, .compare(.less, .time(.instant(instant))))))
        #expect(try parse("lastContact < 2026-11-01T01:00:00+01:00") == .predicate(.field(.lastContact, .compare(.less, .time(.instant(instant))))))
        #expect(try parse("lastContact < 2026-11-01") == .predicate(.field(.lastContact, .compare(.less, .time(.instant(instant))))))
        #expect(try parse(#"lastContact < "2026-11-01T00:00:00.25z""#) == .predicate(.field(.lastContact, .compare(.less, .time(.instant(instant.addingTimeInterval(0.25)))))))
    }

    @Test func parameterValuesAreCanonicalized() throws {
        let channel = path("Device.WiFi.Radio.1.Channel")
        #expect(try parse("Device.WiFi.Radio.1.Channel = 06") == .predicate(.parameter(channel, .text(.equal, "6"))))
        #expect(try parse("Device.WiFi.Radio.1.Channel = 6.0") == .predicate(.parameter(channel, .text(.equal, "6"))))
        #expect(try parse("Device.WiFi.Radio.1.Channel = -0") == .predicate(.parameter(channel, .text(.equal, "0"))))
        #expect(try parse(#"Device.WiFi.Radio.1.Channel = "06""#) == .predicate(.parameter(channel, .text(.equal, "06"))))
        #expect(try parse("Device.WiFi.Radio.1.Channel != TRUE") == .predicate(.parameter(channel, .text(.notEqual, "true"))))
        #expect(try parse("Device.WiFi.Radio.1.Channel < 011.50") == .predicate(.parameter(channel, .number(.less, FleetDecimal("11.5")!))))
        #expect(try parse(#"Device.WiFi.Radio.1.Channel < "11""#) == .predicate(.parameter(channel, .text(.less, "11"))))
        #expect(try parse("Device.WiFi.Radio.1.Channel IN (1, 06, x, false)") == .predicate(.parameter(channel, .oneOf(["1", "6", "x", "false"]))))
        #expect(try parse("Device.WiFi.Radio.1.Channel ~ 1*") == .predicate(.parameter(channel, .glob(FleetGlob("1*")))))
    }

    @Test func wildcardPaths() throws {
        let root = try parse(#"Device.WiFi.SSID.*.SSID = "guest" OR InternetGatewayDevice.LANDevice.*.WLANConfiguration.*.SSID = guest"#)
        guard case .or(let operands)? = root, operands.count == 2,
              case .predicate(.parameter(let first, .text(.equal, "guest"))) = operands[0],
              case .predicate(.parameter(let second, .text(.equal, "guest"))) = operands[1] else {
            Issue.record("unexpected shape \(String(describing: root))")
            return
        }
        #expect(first.segments == ["Device", "WiFi", "SSID", "*", "SSID"])
        #expect(first.hasWildcard && !first.isObject)
        #expect(second.segments.filter { $0 == "*" }.count == 2)
        #expect(first.fixedPrefix == "Device.WiFi.SSID.")
        #expect(first.prefixSuccessor == "Device.WiFi.SSID/")
        #expect(first.regex == #"^Device\.WiFi\.SSID\.[0-9]+\.SSID$"#)
    }

    @Test func quotingAndEscapes() throws {
        func value(_ query: String) throws -> String? {
            guard case .predicate(.field(.modelName, .compare(.equal, .text(let text))))? = try parse(query) else { return nil }
            return text
        }
        #expect(try value(#"modelName = "a \"b\" c""#) == #"a "b" c"#)
        #expect(try value(#"modelName = 'it\'s'"#) == "it's")
        #expect(try value(#"modelName = 'say "hi"'"#) == #"say "hi""#)
        #expect(try value(#"modelName = "back\\slash""#) == #"back\slash"#)
        #expect(try value(#"modelName = "tab\tnew\nline\rcr""#) == "tab\tnew\nline\rcr")
        #expect(try value(#"modelName = "\u0041\u00e9\u{1F600}""#) == "Aé😀")
        #expect(try value(#"modelName = "AND OR NOT ( ) , = ~""#) == "AND OR NOT ( ) , = ~")
        #expect(try value(#"modelName = """#) == "")
        #expect(try value("modelName = Gerät-9") == "Gerät-9")
    }

    @Test func canonicalTextRoundTrips() throws {
        let queries = [
            #"Device.WiFi.Radio.1.Channel = 6 AND softwareVersion < "2.1" AND tag = beta"#,
            #"NOT (tag = a OR tag = b) AND (modelName ~ "XG-*" OR lastContact > -7d)"#,
            #"(tag = a AND tag = b) AND tag = c OR NOT NOT EXISTS Device.WiFi.SSID.*."#,
            #"lastBoot <= "2026-01-02T03:04:05.123456Z" AND partition IN (1, 2) AND online = false"#,
            #"modelName = "quote \" backslash \\ newline \n control \u{1}" AND Device.X.Y IN ("a", "6")"#,
        ]
        for query in queries {
            let filter = try FleetFilter(parsing: query)
            let again = try FleetFilter(parsing: filter.description)
            #expect(again == filter, "\(query) → \(filter.description)")
            #expect(again.description == filter.description)
            #expect(try FleetFilter(root: filter.root) == filter)
        }
        #expect(try FleetFilter(parsing: "tag=a  and   tag=b").description == #"tag = "a" AND tag = "b""#)
    }

    @Test func fingerprintFollowsMeaningNotSpelling() throws {
        let a = try FleetFilter(parsing: "tag=a and MODELNAME = 'x'")
        let b = try FleetFilter(parsing: #"tag = "a" AND modelName = "x""#)
        let c = try FleetFilter(parsing: #"tag = "a" AND modelName = "y""#)
        #expect(a.fingerprint == b.fingerprint)
        #expect(a.fingerprint != c.fingerprint)
        #expect(FleetFilter.matchAll.fingerprint != c.fingerprint)
    }

    @Test func builtExpressionsAreChecked() throws {
        let good = FleetExpression.predicate(.field(.partition, .compare(.less, .integer(3))))
        #expect(try FleetFilter(root: good).root == good)
        #expect(try FleetFilter(root: nil).root == nil)
        let refused: [FleetExpression] = [
            .and([good]),
            .or([]),
            .predicate(.field(.partition, .compare(.less, .text("3")))),
            .predicate(.field(.online, .compare(.less, .boolean(true)))),
            .predicate(.field(.tenant, .isNull)),
            .predicate(.field(.protocol, .compare(.equal, .text("http")))),
            .predicate(.parameter(path("Device.X.Y"), .number(.equal, FleetDecimal("1")!))),
            .predicate(.parameter(path("Device.X."), .text(.equal, "1"))),
            .predicate(.field(.modelName, .oneOf([]))),
            .predicate(.tag(.has("nul\u{0}"))),
        ]
        for expression in refused {
            #expect(throws: FleetQueryError.self, "\(expression) should be refused") { try FleetFilter(root: expression) }
        }
    }
}
