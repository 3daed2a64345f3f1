namespace SyncFunctions.Tests.Infrastructure;

internal static class RepoRoot
{
    public static string Find()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "SyncFunctions.slnx")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("Run the tests from inside the repository (SyncFunctions.slnx not found above " + AppContext.BaseDirectory + ").");
    }
}
