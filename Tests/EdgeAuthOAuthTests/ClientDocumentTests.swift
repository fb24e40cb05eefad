@testable import EdgeAuthOAuth
import Testing

@Suite("client metadata documents: which addresses may be fetched (A4)")
struct ClientDocumentTests {
    @Test("loopback, private, link-local, shared and reserved addresses are refused", arguments: [
        "127.0.0.1", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0",
        "224.0.0.1", "::1", "::", "fe80::1", "fc00::1", "fd12:3456::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "2001:db8::1", "not an address",
        // IPv6 forms that carry or reach an IPv4 address: IPv4-compatible, 6to4 of a private address, Teredo; and site-local.
        "::10.0.0.1", "::127.0.0.1", "2002:7f00:1::1", "2002:c0a8:101::1", "2001:0:4136:e378::1", "fec0::1",
    ])
    func refused(address: String) {
        #expect(!ClientMetadataDocuments.isPublic(address))
    }

    @Test("public addresses are fetched", arguments: ["93.184.216.34", "8.8.8.8", "172.32.0.1", "2606:4700::1111", "::ffff:8.8.8.8", "2002:808:808::1"])
    func accepted(address: String) {
        #expect(ClientMetadataDocuments.isPublic(address))
    }

    @Test("a document URL is https with a path")
    func documentURLs() {
        #expect(ClientMetadataDocuments.isDocumentURL("https://app.example.com/oauth/client.json"))
        #expect(!ClientMetadataDocuments.isDocumentURL("https://app.example.com/"))
        #expect(!ClientMetadataDocuments.isDocumentURL("http://app.example.com/client.json"))
        #expect(!ClientMetadataDocuments.isDocumentURL("ea_abc"))
    }
}
