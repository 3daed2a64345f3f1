using System.IdentityModel.Tokens.Jwt;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace SyncFunctions.Security;

/// <summary>Signs Development-only tokens with the same claims an Entra ID token carries (tid, email, roles).</summary>
public sealed class DevTokenIssuer(IOptions<AuthOptions> options, TimeProvider time)
{
    private readonly Lazy<SymmetricSecurityKey> _key = new(() => new SymmetricSecurityKey(
        options.Value.DevSigningKey is { } configured ? Encoding.UTF8.GetBytes(configured) : RandomNumberGenerator.GetBytes(32)));

    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(8);

    public SecurityKey Key => _key.Value;

    public string Issue(string tenantId, string? email, IEnumerable<string> roles)
    {
        var claims = new List<Claim> { new("tid", tenantId), new("sub", $"dev-{tenantId}-{email ?? "user"}") };
        if (email is not null)
        {
            claims.Add(new Claim("email", email));
        }

        claims.AddRange(roles.Select(r => new Claim("roles", r)));
        var now = time.GetUtcNow().UtcDateTime;
        var token = new JwtSecurityToken(
            AuthOptions.DevIssuer,
            AuthOptions.DevAudience,
            claims,
            notBefore: now.AddMinutes(-1),
            expires: now + Lifetime,
            signingCredentials: new SigningCredentials(Key, SecurityAlgorithms.HmacSha256));
        return new JwtSecurityTokenHandler().WriteToken(token);
    }
}
