// Configuration files (-config-file: Consul's JSON keys; HCL files are
// refused by name) read, applied and validated as `fedagent agent` does,
// and the service and check definitions they share with the HTTP API's
// register bodies (ServiceDefinition).
import Agent
import Glibc
import JSON

/// The input goes through a real file: loading (size limit, regular file)
/// is part of what a config file meets. One path per process (the cwd is
/// the target's work directory).
let path = "config-\(getpid()).json"

func fuzz(_ bytes: [UInt8]) {
    guard let file = fopen(path, "wb") else { fuzzFail("cannot write \(path)") }
    let written = fwrite(bytes, 1, bytes.count, file)
    fclose(file)
    fuzzRequire(written == bytes.count, "short write to \(path)")
    if let flags = try? CommandLineFlags(["-config-file", path], specs: AgentConfig.flagSpecs) {
        _ = try? AgentConfig.from(flags, hostName: "fuzz")
    }
    _ = ServiceDefinition.parse(bytes, scripts: true)
    if let json = try? JSONValue.parse(bytes) {
        _ = ServiceDefinition.parseCheck(json: json, scripts: true)
        if let service = json["service"] { _ = ServiceDefinition.parse(json: service) }
    }
}

func fuzzSeeds() -> [[UInt8]] {
    [
        #"{"datacenter":"dc2","node_name":"n1","server":true,"bind_addr":"10.0.0.1","client_addr":"127.0.0.1","retry_join":["10.0.0.2","10.0.0.3:8301"],"ports":{"http":8500,"dns":-1,"serf_lan":8301},"encrypt":"AQEBAQEBAQEBAQEBAQEBAQ==","log_level":"debug","recursors":["1.1.1.1"],"domain":"consul."}"#,
        #"{"services":[{"name":"web","id":"web1","port":8080,"tags":["v1"],"meta":{"k":"v"},"check":{"http":"http://127.0.0.1:8080/h","interval":"10s","timeout":"1s"}},{"Name":"db","Port":5432,"Checks":[{"TTL":"30s"},{"TCP":"127.0.0.1:5432","Interval":"5s"}]}]}"#,
        #"{"service":{"name":"frontend","port":8080,"connect":{"sidecar_service":{"proxy":{"upstreams":[{"destination_name":"backend","datacenter":"dc2","local_bind_port":9191}]}}}}}"#,
        #"{"acl":{"enabled":true,"default_policy":"deny","tokens":{"initial_management":"root"}},"tls":{"defaults":{"verify_incoming":false}},"telemetry":{"prometheus_retention_time":"60s"},"dns_config":{"only_passing":true,"udp_answer_limit":5,"service_ttl":{"*":"5s"}},"ui_config":{"enabled":true}}"#,
        #"{"Name":"web","Port":80,"Check":{"Args":["/bin/check","-v"],"Interval":"10s","DeregisterCriticalServiceAfter":"90m"},"Weights":{"Passing":10,"Warning":1}}"#,
        #"{"ID":"mem","Name":"Memory","HTTP":"https://h/","Method":"POST","Header":{"X":["1"]},"Body":"{}","TLSSkipVerify":true,"Interval":"10s","SuccessBeforePassing":2}"#,
    ].map(\.fuzzBytes)
}
