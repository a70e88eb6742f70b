using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Configuration;

namespace FreshBooksConnect.LocalHost.Internal;

/// <summary>
/// The local host's keys: a function key (setting <c>LocalHost:FunctionKey</c>) and the master key (setting
/// <c>LocalHost:MasterKey</c>), each generated for the run when its setting is absent. A caller presents a key in
/// the <c>x-functions-key</c> header or the <c>code</c> query parameter, as with Functions.
/// </summary>
internal sealed class FunctionKeys
{
    public const string FunctionKeySetting = "LocalHost:FunctionKey";
    public const string MasterKeySetting = "LocalHost:MasterKey";
    public const string HeaderName = "x-functions-key";
    public const string QueryName = "code";

    private FunctionKeys(string functionKey, bool functionKeyGenerated, string masterKey, bool masterKeyGenerated)
    {
        FunctionKey = functionKey;
        FunctionKeyGenerated = functionKeyGenerated;
        MasterKey = masterKey;
        MasterKeyGenerated = masterKeyGenerated;
    }

    public string FunctionKey { get; }

    public bool FunctionKeyGenerated { get; }

    public string MasterKey { get; }

    public bool MasterKeyGenerated { get; }

    public static FunctionKeys From(IConfiguration configuration)
    {
        var functionKey = configuration[FunctionKeySetting];
        var masterKey = configuration[MasterKeySetting];
        return new FunctionKeys(
            string.IsNullOrEmpty(functionKey) ? Generate() : functionKey,
            string.IsNullOrEmpty(functionKey),
            string.IsNullOrEmpty(masterKey) ? Generate() : masterKey,
            string.IsNullOrEmpty(masterKey));
    }

    /// <summary>Whether the request carries a key good enough for <paramref name="level"/>.</summary>
    public bool Authorize(AuthorizationLevel level, HttpRequest request)
    {
        if (level == AuthorizationLevel.Anonymous)
        {
            return true;
        }

        var presented = Presented(request);
        if (presented is null)
        {
            return false;
        }

        return Matches(presented, MasterKey) || (level == AuthorizationLevel.Function && Matches(presented, FunctionKey));
    }

    private static string? Presented(HttpRequest request)
    {
        if (request.Headers.TryGetValue(HeaderName, out var header) && !string.IsNullOrEmpty(header.ToString()))
        {
            return header.ToString();
        }

        return request.Query.TryGetValue(QueryName, out var code) && !string.IsNullOrEmpty(code.ToString()) ? code.ToString() : null;
    }

    private static bool Matches(string presented, string key) =>
        CryptographicOperations.FixedTimeEquals(
            SHA256.HashData(Encoding.UTF8.GetBytes(presented)),
            SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    private static string Generate() => Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
}
