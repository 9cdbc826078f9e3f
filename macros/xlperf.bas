Attribute VB_Name = "xlperf_ribbon"
' xlperf 项目支出绩效自评：功能区按钮与宏（由 python -m xlperf.addin 生成，请勿手工修改）。
'
' 用法：先运行 xlperf addin install 安装 xlperf.xlam 加载项并重新启动 Excel；
' 再在 Visual Basic 编辑器（Alt+F11）中“文件 → 导入文件”导入本文件，
' 导入到个人宏工作簿 PERSONAL.XLSB 即可用于所有工作簿。
' 下列宏通过加载项中的 xlwings RunPython 运行 Python（使用 xlperf addin install 写入的 Python 路径）。
' 本文件以 GBK 编码保存，适用于中文 Windows。

Option Explicit

Private Const ADDIN_RUN_PYTHON As String = "'xlperf.xlam'!xlwings.RunPython"

' ---- 功能区回调：供 customUI-workbook.xml 的 onAction 使用 ----

' 计算每个项目的完成率、指标得分、总得分和评价等级，写入附件1、汇总和校验结果工作表（不改动您填写的单元格）。
Public Sub 重新计算得分(control As IRibbonControl)
    RunXlperf "import xlwings as xw, xlperf.excel; xlperf.excel.recalc(xw.Book.caller())"
End Sub

' 只检查：列出每个问题所在的工作表和单元格；除“校验结果”工作表外不写入任何内容。
Public Sub 检查(control As IRibbonControl)
    RunXlperf "import xlwings as xw, xlperf.excel; xlperf.excel.check(xw.Book.caller())"
End Sub

' 按最近一次保存的工作簿文件，每个项目导出一个只含数值的工作簿（附件1、预算执行情况表），供报送。
Public Sub 导出(control As IRibbonControl)
    RunXlperf "import xlwings as xw, xlperf.excel; xlperf.excel.export(xw.Book.caller())"
End Sub

' 按最近一次保存的工作簿文件，每个项目写一份 Word 项目支出绩效自评报告（放在导出文件夹中；附件1按工作簿的表样）。
Public Sub 生成报告(control As IRibbonControl)
    RunXlperf "import xlwings as xw, xlperf.excel; xlperf.excel.word_report(xw.Book.caller())"
End Sub

' 把导出的工作簿发送到“项目清单”中填写的电子邮箱（先导出；邮件服务器设置见 xlperf.toml）。
Public Sub 发送邮件(control As IRibbonControl)
    RunXlperf "import xlwings as xw, xlperf.excel; xlperf.excel.mail(xw.Book.caller())"
End Sub

' ---- 无参数的宏：用于“文件 → 选项 → 自定义功能区”、快速访问工具栏或表单按钮 ----

Public Sub 绩效自评_重新计算得分()
    RunXlperf "import xlwings as xw, xlperf.excel; xlperf.excel.recalc(xw.Book.caller())"
End Sub

Public Sub 绩效自评_检查()
    RunXlperf "import xlwings as xw, xlperf.excel; xlperf.excel.check(xw.Book.caller())"
End Sub

Public Sub 绩效自评_导出()
    RunXlperf "import xlwings as xw, xlperf.excel; xlperf.excel.export(xw.Book.caller())"
End Sub

Public Sub 绩效自评_生成报告()
    RunXlperf "import xlwings as xw, xlperf.excel; xlperf.excel.word_report(xw.Book.caller())"
End Sub

Public Sub 绩效自评_发送邮件()
    RunXlperf "import xlwings as xw, xlperf.excel; xlperf.excel.mail(xw.Book.caller())"
End Sub

Private Sub RunXlperf(PythonCommand As String)
    If ActiveWorkbook Is Nothing Then
        MsgBox "请先打开要处理的工作簿。", vbExclamation, "绩效自评"
        Exit Sub
    End If
    On Error GoTo AddinMissing
    Application.Run ADDIN_RUN_PYTHON, PythonCommand
    Exit Sub
AddinMissing:
    MsgBox "无法调用 xlperf.xlam 加载项（" & Err.Description & "）。" & vbCrLf & _
           "请先在命令行运行 xlperf addin install，然后退出并重新启动 Excel。", vbExclamation, "绩效自评"
End Sub
